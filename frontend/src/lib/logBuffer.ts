// A bounded window of a log's lines, filled page by page from the lines API.
import type { LogLine, LogLines } from '~/api/types';

export interface LogBuffer {
  /** Offset (0-based line index) of `lines[0]`. */
  start: number;
  lines: readonly LogLine[];
  /** Lines the server has, as far as we know. */
  total: number;
  complete: boolean;
}

export const PAGE_SIZE = 1000;
/** Lines kept in memory; older lines are dropped while following a growing log. */
export const CAPACITY = 50_000;

export const emptyBuffer: LogBuffer = { start: 0, lines: [], total: 0, complete: false };

export function bufferEnd(b: LogBuffer): number {
  return b.start + b.lines.length;
}

/** Offset of the first page to show: the tail of the log. */
export function tailOffset(total: number, pageSize = PAGE_SIZE): number {
  return Math.max(0, total - pageSize);
}

function trimFront(b: LogBuffer, capacity: number): LogBuffer {
  const over = b.lines.length - capacity;
  if (over <= 0) return b;
  return { ...b, start: b.start + over, lines: b.lines.slice(over) };
}

/** Add a page that continues (or overlaps) the end of the buffer; a gap restarts the buffer. */
export function appendPage(b: LogBuffer, page: LogLines, capacity = CAPACITY): LogBuffer {
  const end = bufferEnd(b);
  const total = Math.max(page.total, page.offset + page.lines.length);
  if (b.lines.length === 0 || page.offset > end || page.offset < b.start) {
    return trimFront(
      { start: page.offset, lines: page.lines, total, complete: page.complete },
      capacity,
    );
  }
  const fresh = page.lines.slice(end - page.offset);
  const next: LogBuffer = {
    start: b.start,
    lines: fresh.length ? [...b.lines, ...fresh] : b.lines,
    total: Math.max(total, b.total),
    complete: page.complete,
  };
  return trimFront(next, capacity);
}

/** Add a page of earlier lines that ends where the buffer starts (or overlaps it). */
export function prependPage(b: LogBuffer, page: LogLines, capacity = CAPACITY): LogBuffer {
  const pageEnd = page.offset + page.lines.length;
  if (page.offset >= b.start || pageEnd < b.start) return b;
  const room = Math.max(0, capacity - b.lines.length);
  const earlier = page.lines.slice(0, b.start - page.offset).slice(-room);
  if (earlier.length === 0) return b;
  return {
    ...b,
    start: b.start - earlier.length,
    lines: [...earlier, ...b.lines],
    total: Math.max(b.total, page.total),
  };
}

/** The next page to fetch at the end, given what the server reported; null when up to date. */
export function nextFetch(
  b: LogBuffer,
  knownTotal: number,
  pageSize = PAGE_SIZE,
): { offset: number; limit: number } | null {
  const end = bufferEnd(b);
  if (end >= Math.max(knownTotal, b.total)) return null;
  return { offset: end, limit: pageSize };
}

/** Whether earlier lines can still be loaded into the buffer. */
export function canLoadEarlier(b: LogBuffer, capacity = CAPACITY): boolean {
  return b.start > 0 && b.lines.length < capacity;
}

/** Lines to render for a scroll position, with fixed-height rows. */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  lineHeight: number,
  count: number,
  overscan = 30,
): [number, number] {
  const first = Math.floor(scrollTop / lineHeight);
  const from = Math.max(0, first - overscan);
  const to = Math.min(count, first + Math.ceil(viewport / lineHeight) + overscan);
  return [from, Math.max(from, to)];
}
