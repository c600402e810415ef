import type { MasterInfo } from '~/api/types';
import { LastSeen } from '~/components/workers/LastSeen';

const STATE_CLASS: Record<MasterInfo['state'], string> = {
  running: '',
  stopped: 'muted',
  lost: 'error-text',
};

/** The masters sharing the database: where each serves, whether it runs, its last heartbeat. */
export function MasterList({ masters, now }: { masters: MasterInfo[]; now: number }) {
  return (
    <div class="table-scroll">
      <table class="list" data-testid="masters">
        <thead>
          <tr>
            <th>Master</th>
            <th>Address</th>
            <th>State</th>
            <th>Started</th>
            <th>Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {masters.map((m) => (
            <tr
              key={m.name}
              data-master={m.name}
              data-active={String(m.active)}
              data-state={m.state}
            >
              <td class="master-name">
                {m.name}
                {m.current && <span class="small muted"> (this master)</span>}
              </td>
              <td>
                {m.address ? <a href={m.address}>{m.address}</a> : <span class="muted">—</span>}
              </td>
              <td>
                <span class={STATE_CLASS[m.state]}>{m.state}</span>
              </td>
              <td>
                <LastSeen at={m.started_at} now={now} />
              </td>
              <td>{m.current ? 'now' : <LastSeen at={m.last_active} now={now} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
