import { describe, expect, it } from 'vitest';
import type { LogLine, LogLines } from '~/api/types';
import {
  appendPage,
  bufferEnd,
  canLoadEarlier,
  emptyBuffer,
  nextFetch,
  prependPage,
  tailOffset,
  visibleRange,
} from './logBuffer';

function lines(offset: number, n: number): LogLine[] {
  return Array.from({ length: n }, (_, i) => ({
    number: offset + i,
    channel: 'o' as const,
    text: `line ${offset + i}`,
  }));
}

function page(offset: number, n: number, total = offset + n, complete = false): LogLines {
  return { lines: lines(offset, n), offset, total, complete };
}

describe('log buffer', () => {
  it('starts at the tail of the log', () => {
    expect(tailOffset(10, 1000)).toBe(0);
    expect(tailOffset(5000, 1000)).toBe(4000);
  });

  it('appends contiguous pages and skips overlapping lines', () => {
    let b = appendPage(emptyBuffer, page(0, 3));
    b = appendPage(b, page(2, 3)); // lines 2..4, line 2 already known
    expect(b.lines.map((l) => l.number)).toEqual([0, 1, 2, 3, 4]);
    expect(bufferEnd(b)).toBe(5);
  });

  it('restarts at a gap', () => {
    let b = appendPage(emptyBuffer, page(0, 3));
    b = appendPage(b, page(10, 2));
    expect(b.start).toBe(10);
    expect(b.lines.map((l) => l.number)).toEqual([10, 11]);
  });

  it('keeps only the newest lines beyond its capacity', () => {
    let b = appendPage(emptyBuffer, page(0, 8), 10);
    b = appendPage(b, page(8, 5), 10);
    expect(b.start).toBe(3);
    expect(b.lines).toHaveLength(10);
    expect(b.lines[9].number).toBe(12);
    expect(canLoadEarlier(b, 10)).toBe(false);
  });

  it('records completion and totals', () => {
    const b = appendPage(emptyBuffer, page(0, 2, 2, true));
    expect(b.complete).toBe(true);
    expect(b.total).toBe(2);
  });

  it('prepends earlier pages', () => {
    let b = appendPage(emptyBuffer, page(5, 5));
    expect(canLoadEarlier(b)).toBe(true);
    b = prependPage(b, page(0, 6)); // overlaps line 5
    expect(b.start).toBe(0);
    expect(b.lines.map((l) => l.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(canLoadEarlier(b)).toBe(false);
    // pages that do not touch the start are ignored
    expect(prependPage(b, page(20, 2))).toBe(b);
  });

  it('prepends only up to its capacity', () => {
    let b = appendPage(emptyBuffer, page(5, 5), 7);
    b = prependPage(b, page(0, 5), 7);
    expect(b.start).toBe(3);
    expect(b.lines).toHaveLength(7);
  });

  it('computes the next page to fetch', () => {
    const b = appendPage(emptyBuffer, page(0, 3, 3));
    expect(nextFetch(b, 3)).toBeNull();
    expect(nextFetch(b, 10, 100)).toEqual({ offset: 3, limit: 100 });
    expect(nextFetch(emptyBuffer, 0)).toBeNull();
  });

  it('computes the visible window', () => {
    expect(visibleRange(0, 100, 20, 1000, 0)).toEqual([0, 5]);
    expect(visibleRange(2000, 100, 20, 1000, 10)).toEqual([90, 115]);
    expect(visibleRange(0, 100, 20, 3, 10)).toEqual([0, 3]);
    expect(visibleRange(0, 100, 20, 0, 10)).toEqual([0, 0]);
  });
});
