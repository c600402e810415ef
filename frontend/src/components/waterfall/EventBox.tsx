import type { WaterfallEvent } from '~/api/types';
import { pure } from '~/components/common/pure';
import { clock, parseTime } from '~/lib/time';

const TEXT: Record<string, string> = {
  'worker.connected': 'connected',
  'worker.disconnected': 'disconnected',
  'worker.paused': 'paused',
  'worker.unpaused': 'unpaused',
  'worker.stopping': 'shutting down',
  'master.started': 'master started',
  'master.stopping': 'master stopping',
  'master.lost': 'master lost',
  reconfig: 'reconfigured',
};

/** A worker or master event in a builder's column (0.8.9's `show_events`). */
function EventBoxImpl({ event }: { event: WaterfallEvent }) {
  const at = parseTime(event.at);
  const worker = event.type.startsWith('worker.');
  return (
    <div
      class={`event-box ${event.type.replace('.', '-')}`}
      data-testid="event-box"
      data-event={event.type}
      title={event.summary != null ? `${event.name}: ${event.summary}` : undefined}
    >
      {worker
        ? `${event.name} ${TEXT[event.type] ?? event.type}`
        : (TEXT[event.type] ?? event.type)}
      {event.actor != null && ` by ${event.actor}`}
      {at != null && <span class="event-time"> {clock(at)}</span>}
    </div>
  );
}

export const EventBox = pure(EventBoxImpl);
