import type { MasterInfo } from '~/api/types';
import { LastSeen } from '~/components/workers/LastSeen';

/** The masters sharing the database: which runs, and when each was last known to. */
export function MasterList({ masters, now }: { masters: MasterInfo[]; now: number }) {
  return (
    <div class="table-scroll">
      <table class="list" data-testid="masters">
        <thead>
          <tr>
            <th>Master</th>
            <th>State</th>
            <th>Last active</th>
          </tr>
        </thead>
        <tbody>
          {masters.map((m) => (
            <tr key={m.name} data-master={m.name} data-active={String(m.active)}>
              <td class="master-name">
                {m.name}
                {m.current && <span class="small muted"> (this master)</span>}
              </td>
              <td>{m.active ? 'running' : <span class="muted">stopped</span>}</td>
              <td>{m.current ? 'now' : <LastSeen at={m.last_active} now={now} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
