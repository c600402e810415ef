import { describe, expect, it } from 'vitest';
import { layoutWaterfall, type Timed } from './waterfallLayout';

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const T0 = Date.parse('2024-05-01T12:00:00Z');
const COLS = ['a', 'b'];
/** Item `name` in column(s) `col` at T0 + `s` seconds. */
const x = (col: string | string[], name: string, s: number, order = 0): Timed<string> => ({
  columns: (Array.isArray(col) ? col : [col]).map((c) => COLS.indexOf(c)),
  time: T0 + s * 1000,
  order,
  value: name,
});
const opts = { dayOf: utcDay, now: T0 };

describe('layoutWaterfall', () => {
  it('returns no rows without items', () => {
    expect(layoutWaterfall(2, [], opts)).toEqual([]);
  });

  it('puts items newest first, one row per 10 s window', () => {
    const rows = layoutWaterfall(2, [x('a', 'a1', 0), x('b', 'b1', 100), x('a', 'a2', 200)], opts);
    expect(rows.map((r) => r.cells)).toEqual([
      [['a2'], []],
      [[], ['b1']],
      [['a1'], []],
    ]);
    expect(rows[0].time).toBe(T0 + 200_000);
  });

  it('groups items that started within the window into one row', () => {
    const rows = layoutWaterfall(2, [x('a', 'a1', 0), x('b', 'b1', 3), x('a', 'a2', 8)], opts);
    expect(rows).toHaveLength(1);
    expect(rows[0].cells).toEqual([['a2', 'a1'], ['b1']]);
    // the label is the oldest start (bottom of the chunk), the top the newest
    expect(rows[0].time).toBe(T0);
    expect(rows[0].top).toBe(T0 + 8000);
  });

  it('collapses empty time: the next window starts at the next older item', () => {
    const rows = layoutWaterfall(1, [x('a', 'a1', 0), x('a', 'a2', 9), x('a', 'a3', 15)], opts);
    // window (5, 15] holds a3 and a2; a1 at 0 starts a new window
    expect(rows.map((r) => r.cells)).toEqual([[['a3', 'a2']], [['a1']]]);
  });

  it('gaps of hours cost one row each, not hours of rows', () => {
    const rows = layoutWaterfall(1, [x('a', 'old', -7200), x('a', 'new', 0)], opts);
    expect(rows.map((r) => r.cells)).toEqual([[['new']], [['old']]]);
  });

  it('shows an item in every column it names, and drops unknown columns and times', () => {
    const worker = x(['a', 'b'], 'worker up', 0);
    const bad = { ...x('a', 'bad', 0), time: Number.NaN };
    const rows = layoutWaterfall(2, [worker, bad, x('zzz', 'lost', 0)], opts);
    expect(rows.map((r) => r.cells)).toEqual([[['worker up'], ['worker up']]]);
  });

  it('orders equal times by their order', () => {
    const rows = layoutWaterfall(1, [x('a', 'first', 0, 1), x('a', 'second', 0, 2)], opts);
    expect(rows[0].cells).toEqual([['second', 'first']]);
  });

  it('marks rows where the day changes', () => {
    const day = 86_400;
    const rows = layoutWaterfall(
      1,
      [x('a', '1', -day), x('a', '2', -day + 60), x('a', '3', 0)],
      opts,
    );
    expect(rows.map((r) => r.showDate)).toEqual([false, true, false]);
  });

  it('caps the number of rows', () => {
    const items = Array.from({ length: 50 }, (_, i) => x('a', String(i + 1), i * 60));
    const rows = layoutWaterfall(1, items, { ...opts, maxRows: 5 });
    expect(rows).toHaveLength(5);
    expect(rows[0].cells[0][0]).toBe('50');
  });
});
