import type { Delivery } from '~/api/types';
import { dateTime } from '~/lib/time';
import { paths } from '~/router';
import { HttpStatus } from './HttpStatus';

const none = <span class="muted">—</span>;

/** The changes a delivery created; their pages do not exist yet, so plain ids. */
export function ChangeIds({ ids }: { ids: number[] }) {
  if (ids.length === 0) return none;
  return <span class="change-ids">{ids.map((id) => `#${id}`).join(', ')}</span>;
}

/** Hook deliveries, one row each, newest first as the API sends them. */
export function DeliveryTable({ deliveries }: { deliveries: Delivery[] }) {
  return (
    <table class="list deliveries" data-testid="deliveries">
      <thead>
        <tr>
          <th>#</th>
          <th>Time</th>
          <th>Dialect</th>
          <th>Event</th>
          <th>Source</th>
          <th>Status</th>
          <th>Outcome</th>
          <th>Changes</th>
          <th>Replay</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr key={d.id} data-id={d.id} data-status={d.status}>
            <td>
              <a href={paths.hook(d.id)}>{d.id}</a>
            </td>
            <td class="nowrap">
              <a href={paths.hook(d.id)}>{dateTime(d.received_at)}</a>
            </td>
            <td>
              <a href={paths.hooks(d.dialect)} title={`Only ${d.dialect} deliveries`}>
                {d.dialect}
              </a>
            </td>
            <td>{d.event ?? none}</td>
            <td>{d.source_addr}</td>
            <td>
              <HttpStatus status={d.status} />
            </td>
            <td class="outcome">{d.outcome}</td>
            <td>
              <ChangeIds ids={d.change_ids} />
            </td>
            <td>
              {d.replay_of != null ? (
                <a href={paths.hook(d.replay_of)}>replay of #{d.replay_of}</a>
              ) : (
                none
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
