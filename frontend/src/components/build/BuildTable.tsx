import type { Build } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import { shortRev } from '~/lib/links';
import { statusOf } from '~/lib/results';
import { dateTime, elapsed } from '~/lib/time';
import { paths } from '~/router';

/** Builds one line each: number, result with its text, source, start, duration, reason. */
export function BuildTable({
  builds,
  now,
  showBuilder = true,
}: {
  builds: readonly Build[];
  now: number;
  showBuilder?: boolean;
}) {
  if (builds.length === 0) return <p class="muted">No builds.</p>;
  return (
    <table class="list build-table" data-testid="build-table">
      <thead>
        <tr>
          {showBuilder && <th scope="col">Builder</th>}
          <th scope="col">Build</th>
          <th scope="col">Result</th>
          <th scope="col">Source</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {builds.map((b) => {
          const status = statusOf(b);
          return (
            <tr key={`${b.builder}/${b.number}`} data-builder={b.builder} data-build={b.number}>
              {showBuilder && (
                <td>
                  <a href={paths.builder(b.builder)}>{b.builder}</a>
                </td>
              )}
              <td>
                <a href={paths.build(b.builder, b.number)}>#{b.number}</a>
              </td>
              <td>
                <StatusBox status={status}>{b.state_text || status}</StatusBox>
              </td>
              <td class="small">
                {b.branch ?? 'default'}
                {b.revision && <span class="mono"> {shortRev(b.revision)}</span>}
              </td>
              <td class="small">{dateTime(b.started_at)}</td>
              <td class="small">{elapsed(b.started_at, b.finished_at, now)}</td>
              <td class="small reason">{b.reason}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
