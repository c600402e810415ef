// Server-Sent Event payloads of /api/v1/events: the generated `BusEvent` schema.
import type { components } from '~/api/schema';

export const EVENT_TYPES = [
  'change.new',
  'buildset.new',
  'buildrequest.new',
  'build.started',
  'build.finished',
  'step.started',
  'step.finished',
  'log.appended',
  'worker.connected',
  'worker.disconnected',
  'master.started',
  'master.stopping',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type ServerEvent = components['schemas']['BusEvent'];
