import { describe, expect, it } from 'vitest';
import { buildFold, isHidden, lineOfRow, rowOfLine } from './logFold';
import type { Section } from './logSections';

const sec = (start: number, end: number | null, collapsed: boolean, depth = 0): Section => ({
  start,
  end,
  title: `s${start}`,
  syntax: 'github',
  collapsed,
  depth,
});
const byDefault = (s: Section) => s.collapsed;

describe('buildFold', () => {
  it('hides the body of folded sections, not their header', () => {
    const map = buildFold(
      [sec(2, 5, true), sec(10, 12, false), sec(20, null, true)],
      byDefault,
      30,
    );
    expect(map.hidden).toEqual([
      [3, 5],
      [21, 29],
    ]);
    expect(map.rows).toBe(30 - 3 - 9);
  });

  it('ignores sections inside a folded one and empty ones', () => {
    const sections = [sec(0, 10, true), sec(2, 4, true, 1), sec(12, 12, true), sec(14, 16, true)];
    const map = buildFold(sections, byDefault, 20);
    expect(map.hidden).toEqual([
      [1, 10],
      [15, 16],
    ]);
  });

  it('follows the choice given for each section', () => {
    const sections = [sec(0, 10, false), sec(2, 4, false, 1)];
    const map = buildFold(sections, (s) => s.start === 2, 20);
    expect(map.hidden).toEqual([[3, 4]]);
  });

  it('clips open sections and sections past the end to the lines there are', () => {
    expect(buildFold([sec(5, null, true), sec(50, 60, true)], byDefault, 8).hidden).toEqual([
      [6, 7],
    ]);
  });
});

describe('rows and lines', () => {
  const map = buildFold([sec(2, 5, true), sec(8, 8, true), sec(10, 14, true)], byDefault, 20);

  it('maps every row to the next visible line', () => {
    const rows = Array.from({ length: map.rows }, (_, r) => lineOfRow(map, r));
    expect(rows).toEqual([0, 1, 2, 6, 7, 8, 9, 10, 15, 16, 17, 18, 19]);
  });

  it('maps lines back to rows, hidden ones to their header', () => {
    expect(rowOfLine(map, 0)).toBe(0);
    expect(rowOfLine(map, 6)).toBe(3);
    expect(rowOfLine(map, 4)).toBe(2);
    expect(rowOfLine(map, 12)).toBe(7);
    expect(rowOfLine(map, 19)).toBe(12);
    for (let r = 0; r < map.rows; r++) expect(rowOfLine(map, lineOfRow(map, r))).toBe(r);
    expect([3, 5, 11, 14].every((l) => isHidden(map, l))).toBe(true);
    expect([2, 6, 10, 15].some((l) => isHidden(map, l))).toBe(false);
  });

  it('is the identity without folds and stays cheap with many sections', () => {
    const plain = buildFold([], byDefault, 100);
    expect(lineOfRow(plain, 42)).toBe(42);
    expect(rowOfLine(plain, 42)).toBe(42);
    const many = Array.from({ length: 100_000 }, (_, i) => sec(i * 10, i * 10 + 8, true));
    const big = buildFold(many, byDefault, 1_000_000);
    expect(big.rows).toBe(200_000);
    expect(lineOfRow(big, 199_999)).toBe(999_999);
    expect(rowOfLine(big, 500_000)).toBe(100_000);
  });
});
