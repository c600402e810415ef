import type { BuildSummary } from '~/api/types';
import { Eta } from '~/components/results/Eta';
import { statusOf, statusStyle } from '~/lib/results';
import { paths } from '~/router';

/** 0.8.9's cell text: "OK" for a plain success, "building" while running, else the build's text. */
export function cellText(b: BuildSummary): string {
  if (!b.complete) return 'building';
  if (b.results === 'success' && (b.state_text === '' || b.state_text === 'build successful'))
    return 'OK';
  return b.state_text || b.results || '';
}

/** One cell of the grid: the builder's newest build of the stamp, or nothing. */
export function GridCell({
  builder,
  build,
  average,
}: {
  builder: string;
  build?: BuildSummary;
  average?: number;
}) {
  if (!build) return <td class="grid-cell empty-cell" data-testid="grid-cell" />;
  const status = statusOf(build);
  return (
    <td
      class="grid-cell"
      data-testid="grid-cell"
      data-builder={builder}
      data-build={build.number}
      data-results={status}
      style={statusStyle(status)}
    >
      <a
        href={paths.build(builder, build.number)}
        title={`${builder} #${build.number}: ${build.state_text}`}
      >
        {cellText(build)}
      </a>
      {!build.complete && (
        <div class="small">
          <Eta startedAt={build.started_at} average={average} />
        </div>
      )}
    </td>
  );
}
