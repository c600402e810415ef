import type { Build } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import { statusOf } from '~/lib/results';
import { dateTime, elapsed } from '~/lib/time';
import { paths } from '~/router';

/** Builds newest first: which, how they ended, when, how long, and why. */
export function RecentBuilds({ builds, now }: { builds: Build[]; now: number }) {
  if (builds.length === 0) return <p class="muted">No builds yet.</p>;
  return (
    <div class="table-scroll">
      <table class="list cards recent-builds" data-testid="recent-builds">
        <thead>
          <tr>
            <th>Build</th>
            <th>Result</th>
            <th>Started</th>
            <th>Took</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {builds.map((b) => (
            <tr key={b.id} data-builder={b.builder} data-number={b.number}>
              <td class="nowrap build-name">
                <a href={paths.build(b.builder, b.number)}>
                  {b.builder} #{b.number}
                </a>
              </td>
              <td data-label="Result">
                <a href={paths.build(b.builder, b.number)} class="box-link">
                  <StatusBox status={statusOf(b)} />
                </a>
              </td>
              <td class="nowrap" data-label="Started">
                {dateTime(b.started_at)}
              </td>
              <td class="nowrap" data-label="Took">
                {elapsed(b.started_at, b.finished_at, now)}
              </td>
              <td class="reason" data-label="Reason">
                {b.reason}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
