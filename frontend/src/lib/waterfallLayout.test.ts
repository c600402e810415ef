import { describe, expect, it } from 'vitest';
import { layoutWaterfall, type LayoutBuild } from './waterfallLayout';

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const T0 = Date.parse('2024-05-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const b = (builder: string, number: number, s: number): LayoutBuild => ({
  builder,
  number,
  started_at: at(s),
});
const opts = { dayOf: utcDay, now: T0 };
const ids = (cell: LayoutBuild[]) => cell.map((x) => `${x.builder}#${x.number}`);

describe('layoutWaterfall', () => {
  it('returns no rows without builds', () => {
    const l = layoutWaterfall(['a', 'b'], [], opts);
    expect(l.columns).toEqual(['a', 'b']);
    expect(l.rows).toEqual([]);
  });

  it('puts builds newest first, one row per 10 s window', () => {
    const l = layoutWaterfall(['a', 'b'], [b('a', 1, 0), b('b', 1, 100), b('a', 2, 200)], opts);
    expect(l.rows).toHaveLength(3);
    expect(l.rows.map((r) => r.cells.map(ids))).toEqual([
      [['a#2'], []],
      [[], ['b#1']],
      [['a#1'], []],
    ]);
    expect(l.rows[0].time).toBe(T0 + 200_000);
  });

  it('groups builds that started within the window into one row', () => {
    const l = layoutWaterfall(['a', 'b'], [b('a', 1, 0), b('b', 1, 3), b('a', 2, 8)], opts);
    expect(l.rows).toHaveLength(1);
    expect(l.rows[0].cells.map(ids)).toEqual([['a#2', 'a#1'], ['b#1']]);
    // the label is the oldest start (bottom of the chunk), the top the newest
    expect(l.rows[0].time).toBe(T0);
    expect(l.rows[0].top).toBe(T0 + 8000);
  });

  it('skips empty time: the next window starts at the next older build', () => {
    const l = layoutWaterfall(['a'], [b('a', 1, 0), b('a', 2, 9), b('a', 3, 15)], opts);
    // window [15-10, 15] holds #3 and #2 (9 > 5); #1 at 0 starts a new window
    expect(l.rows.map((r) => r.cells.map(ids))).toEqual([[['a#3', 'a#2']], [['a#1']]]);
  });

  it('ignores builds of unknown builders and unparsable times', () => {
    const bad = { builder: 'a', number: 9, started_at: 'not a time' };
    const l = layoutWaterfall(['a'], [b('zzz', 1, 0), bad, b('a', 1, 0)], opts);
    expect(l.rows).toHaveLength(1);
    expect(l.rows[0].cells.map(ids)).toEqual([['a#1']]);
  });

  it('orders equal start times by number', () => {
    const l = layoutWaterfall(['a'], [b('a', 1, 0), b('a', 2, 0)], opts);
    expect(l.rows[0].cells.map(ids)).toEqual([['a#2', 'a#1']]);
  });

  it('marks rows where the day changes', () => {
    const day = 86_400;
    const l = layoutWaterfall(['a'], [b('a', 1, -day), b('a', 2, -day + 60), b('a', 3, 0)], opts);
    expect(l.rows.map((r) => r.showDate)).toEqual([false, true, false]);
  });

  it('caps the number of rows', () => {
    const builds = Array.from({ length: 50 }, (_, i) => b('a', i + 1, i * 60));
    const l = layoutWaterfall(['a'], builds, { ...opts, maxRows: 5 });
    expect(l.rows).toHaveLength(5);
    expect(l.rows[0].cells[0][0].number).toBe(50);
  });
});
