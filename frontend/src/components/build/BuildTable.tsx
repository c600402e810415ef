import type { Build } from '~/api/types';
import { BuildResult } from '~/components/results/BuildResult';
import { useNow } from '~/composables/useNow';
import { shortRev } from '~/lib/links';
import { statusOf } from '~/lib/results';
import { dateTime, elapsed } from '~/lib/time';
import { paths } from '~/router';

interface Props {
  builds: readonly Build[];
  /** Whether to show what each build checked out (pages about one change leave it out). */
  source?: boolean;
  /** Whether to show each build's builder (a builder's own page leaves it out). */
  builder?: boolean;
}

/**
 * Builds one per line (0.8.9's one-line-per-build): builder, number, result with its state
 * text, what it built, when it started, how long it took (counting while it runs) and why.
 */
export function BuildTable({ builds, source = true, builder = true }: Props) {
  const now = useNow(builds.some((b) => !b.complete));
  return (
    <table class="list lines build-lines" data-testid="build-lines">
      <thead>
        <tr>
          {builder && <th scope="col">Builder</th>}
          <th scope="col">Build</th>
          <th scope="col">Result</th>
          {source && <th scope="col">Branch / revision</th>}
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {builds.map((b) => (
          <tr
            key={b.id}
            data-testid="build-line"
            data-builder={b.builder}
            data-build={b.number}
            data-results={statusOf(b)}
            data-branch={b.branch ?? ''}
          >
            {builder && (
              <td class="line-builder">
                <a href={paths.builder(b.builder)}>{b.builder}</a>
              </td>
            )}
            <td class="line-number">
              <a href={paths.build(b.builder, b.number)}>#{b.number}</a>
            </td>
            <td class="line-result">
              <BuildResult build={b} />
            </td>
            {source && (
              <td class="line-source">
                {b.branch ?? <span class="muted">default branch</span>}
                {b.revision && (
                  <>
                    {' '}
                    <code class="rev" title={b.revision}>
                      {shortRev(b.revision)}
                    </code>
                  </>
                )}
              </td>
            )}
            <td class="line-time nowrap">{dateTime(b.started_at)}</td>
            <td class="line-time nowrap">{elapsed(b.started_at, b.finished_at, now)}</td>
            <td class="line-reason">{b.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
