import type { Worker } from '~/api/types';
import { hostSummary } from '~/lib/workers';
import { paths } from '~/router';
import { LastSeen } from './LastSeen';
import { WorkerActions } from './WorkerActions';
import { WorkerStateBox } from './WorkerStateBox';

interface Props {
  w: Worker;
  /** Show the builders it serves (0.8.9's `no_builders=1` hides them). */
  builders: boolean;
  /** Show the actions column. */
  actions: boolean;
  now: number;
}

/** One worker on the workers page. */
export function WorkerRow({ w, builders, actions, now }: Props) {
  return (
    <tr data-worker={w.name}>
      <th scope="row">
        <a href={paths.worker(w.name)}>{w.name}</a>
        {w.embedded && <div class="small muted">embedded</div>}
      </th>
      <td data-label="State">
        <WorkerStateBox worker={w} />
      </td>
      <td class="worker-host" data-label="Host">
        {hostSummary(w.info) || <span class="muted">—</span>}
      </td>
      <td data-label="Version">{w.version ?? <span class="muted">—</span>}</td>
      <td class="worker-master" data-label="Master">
        {w.master ?? <span class="muted">—</span>}
      </td>
      <td class="num" data-testid="running" data-label="Running">
        {w.running_builds} / {w.max_builds}
      </td>
      <td data-label="Last seen">
        <LastSeen at={w.last_seen} now={now} />
      </td>
      {builders && (
        <td class="worker-builders" data-label="Builders">
          {w.builders.length === 0 ? (
            <span class="muted">none</span>
          ) : (
            w.builders.map((b, i) => (
              <span key={b}>
                {i > 0 && ', '}
                <a href={paths.builder(b)}>{b}</a>
              </span>
            ))
          )}
        </td>
      )}
      {actions && (
        <td class="worker-actions-cell">
          <WorkerActions worker={w} />
        </td>
      )}
    </tr>
  );
}
