// Server-Sent Event payloads of /api/v1/events: the generated `BusEvent` schema, and the
// closed list of event kinds (the spec's `EventKind` enum).
import type { components } from '~/api/schema';

export type ServerEvent = components['schemas']['BusEvent'];
export type EventType = components['schemas']['EventKind'];

/**
 * Every kind the server sends. A `Record` over the spec's enum: when the server gains a
 * kind, the type checker stops here until it is listed (and handled by the stores).
 */
const KINDS: Record<EventType, true> = {
  'change.new': true,
  'buildset.new': true,
  'buildrequest.new': true,
  'buildrequest.cancelled': true,
  'build.started': true,
  'build.finished': true,
  'step.started': true,
  'step.finished': true,
  'log.appended': true,
  'worker.connected': true,
  'worker.disconnected': true,
  'worker.paused': true,
  'worker.unpaused': true,
  'worker.stopping': true,
  action: true,
  'master.started': true,
  'master.stopping': true,
  'master.lost': true,
  reconfig: true,
  resync: true,
};

export const EVENT_TYPES = Object.keys(KINDS) as EventType[];

export function isEventType(name: string): name is EventType {
  return Object.prototype.hasOwnProperty.call(KINDS, name);
}
