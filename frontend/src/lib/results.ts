// The one source of result names and colours (0.8.9 default.css values, kept by 4.x).
import type { ConsoleClass, Results } from '~/api/types';

/** Every result name, in the order of their numeric codes (success = 0 … cancelled = 6). */
export const RESULTS = [
  'success',
  'warnings',
  'failure',
  'skipped',
  'exception',
  'retry',
  'cancelled',
] as const satisfies readonly Results[];

/** Display states that are not results: a build/step in progress, waiting, or a builder state. */
export type Status = Results | 'running' | 'pending' | 'offline' | 'idle' | 'start' | 'paused';

export interface Colours {
  text: string;
  background: string;
  border: string;
}

export const COLOURS: Record<Status, Colours> = {
  success: { text: '#000', background: '#8d4', border: '#4F8530' },
  warnings: { text: '#FFF', background: '#fa3', border: '#C29D46' },
  failure: { text: '#000', background: '#e88', border: '#A77272' },
  skipped: { text: '#000', background: '#AADDEE', border: '#AADDEE' },
  exception: { text: '#FFF', background: '#c6c', border: '#ACA0B3' },
  retry: { text: '#FFF', background: '#c6c', border: '#ACA0B3' },
  cancelled: { text: '#000', background: '#ecc', border: '#A77272' },
  running: { text: '#000', background: '#fd3', border: '#C5C56D' },
  pending: { text: '#000', background: '#ccc', border: '#aaa' },
  start: { text: '#000', background: '#ccc', border: '#ccc' },
  idle: { text: '#000', background: '#eee', border: '#ccc' },
  offline: { text: '#FFF', background: '#777', border: '#ddd' },
  paused: { text: '#FFF', background: '#8080FF', border: '#ddd' },
};

export const LABELS: Record<Status, string> = {
  success: 'success',
  warnings: 'warnings',
  failure: 'failure',
  skipped: 'skipped',
  exception: 'exception',
  retry: 'retry',
  cancelled: 'cancelled',
  running: 'running',
  pending: 'pending',
  start: 'start',
  idle: 'idle',
  offline: 'offline',
  paused: 'paused',
};

export function isResults(value: unknown): value is Results {
  return typeof value === 'string' && (RESULTS as readonly string[]).includes(value);
}

/** Numeric code of a result, as in the database and 0.8.9's `results.py`. */
export function resultCode(r: Results): number {
  return RESULTS.indexOf(r);
}

/**
 * The display status of something that has a `results` field and may be running:
 * a result when finished, otherwise `running` (0.8.9 `build_get_class`: None → "running").
 */
export function statusOf(item: { results?: Results | null; complete?: boolean }): Status {
  if (item.results != null && isResults(item.results)) return item.results;
  return 'running';
}

/** Status of a step: not started yet → pending, else like a build. */
export function stepStatus(step: {
  results?: Results | null;
  started_at?: string | null;
  complete: boolean;
}): Status {
  if (step.results != null) return statusOf(step);
  if (step.started_at == null) return 'pending';
  return step.complete ? 'success' : 'running';
}

/** Inline style for a box coloured by status. */
export function statusStyle(status: Status): Record<string, string> {
  const c = COLOURS[status];
  return { background: c.background, color: c.text, borderColor: c.border };
}

/** 0.8.9 `worst_status` precedence: retry > exception > failure > warnings > skipped > success. */
const SEVERITY: Record<Results, number> = {
  success: 0,
  skipped: 1,
  warnings: 2,
  failure: 3,
  cancelled: 4,
  exception: 5,
  retry: 6,
};

export function worstStatus(a: Results, b: Results): Results {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/** The console's box classes (0.8.9 default.css, `failure-again` as the console draws it). */
export const CONSOLE_COLOURS: Record<ConsoleClass, Colours> = {
  success: COLOURS.success,
  warnings: COLOURS.warnings,
  failure: COLOURS.failure,
  'failure-again': { text: '#000', background: '#eA9', border: '#A77272' },
  exception: COLOURS.exception,
  running: COLOURS.running,
  notstarted: { text: '#000', background: '#fff', border: '#aaa' },
  notinbuilder: { text: '#000', background: 'transparent', border: 'transparent' },
};
