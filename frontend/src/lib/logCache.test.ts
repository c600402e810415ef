import { describe, expect, it } from 'vitest';
import type { LogLine } from '~/api/types';
import { fetchesFor, LineCache, PAGE, pagesOf } from './logCache';

const lines = (from: number, n: number, width = 5): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({
    number: from + i,
    channel: 'o' as const,
    text: String(from + i).padStart(width, '0'),
  }));

describe('LineCache', () => {
  it('stores a window across page boundaries and reads lines back', () => {
    const c = new LineCache();
    c.put(0, lines(0, PAGE + 10));
    expect(c.line(0)?.text).toBe('00000');
    expect(c.line(PAGE + 9)?.text).toBe('01009');
    expect(c.line(PAGE + 10)).toBeUndefined();
    expect([c.held(0), c.held(1), c.size]).toEqual([PAGE, 10, 2]);
  });

  it('grows a partial page as a running log grows, ignoring overlaps and gaps', () => {
    const c = new LineCache();
    c.put(2 * PAGE, lines(2 * PAGE, 5));
    c.put(2 * PAGE + 3, lines(2 * PAGE + 3, 4));
    expect(c.held(2)).toBe(7);
    c.put(2 * PAGE + 20, lines(2 * PAGE + 20, 3));
    expect(c.held(2)).toBe(7);
  });

  it('evicts the least recently used pages past its bounds, never those in view', () => {
    const c = new LineCache(3, Infinity);
    for (const p of [0, 1, 2, 3, 4]) c.put(p * PAGE, lines(p * PAGE, PAGE));
    c.touch([0]);
    c.evict(new Set([1]));
    expect([0, 1, 2, 3, 4].map((p) => c.held(p) > 0)).toEqual([true, true, false, false, true]);
  });

  it('is bounded in characters too', () => {
    const c = new LineCache(100, 3 * PAGE * 5);
    for (const p of [0, 1, 2, 3, 4, 5]) c.put(p * PAGE, lines(p * PAGE, PAGE));
    c.evict(new Set());
    expect(c.size).toBe(3);
    expect(c.held(5)).toBe(PAGE);
  });
});

describe('fetch planning', () => {
  it('names the pages of some lines', () => {
    expect(pagesOf([5, 999, 1000, 2500, 7])).toEqual([0, 1, 2]);
  });

  it('asks for the missing part of each page, up to the end of the log', () => {
    const c = new LineCache();
    c.put(0, lines(0, PAGE));
    c.put(PAGE, lines(PAGE, 300));
    expect(fetchesFor(c, [0, 1, 2], 2400)).toEqual([
      { page: 1, offset: PAGE + 300, limit: 700 },
      { page: 2, offset: 2 * PAGE, limit: 400 },
    ]);
    expect(fetchesFor(c, [1], PAGE + 300)).toEqual([]);
    expect(fetchesFor(c, [5], 2400)).toEqual([]);
  });
});
