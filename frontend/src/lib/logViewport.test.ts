import { describe, expect, it } from 'vitest';
import {
  clampTop,
  isScaled,
  maxTopRow,
  rowAtScroll,
  rowTop,
  rowsInView,
  scrollAtRow,
  scrollHeight,
  type Geometry,
} from './logViewport';

describe('an unscaled list', () => {
  const g: Geometry = { rows: 1000, viewport: 180, lineHeight: 18 };

  it('is as tall as its rows and scrolls one row per line height', () => {
    expect(isScaled(g)).toBe(false);
    expect(scrollHeight(g)).toBe(18_000);
    expect(rowAtScroll(360, g)).toBe(20);
    expect(scrollAtRow(20, g)).toBe(360);
    expect(maxTopRow(g)).toBe(990);
    expect(scrollAtRow(5000, g)).toBe(990 * 18);
    expect(clampTop(-3, g)).toBe(0);
  });

  it('renders the rows in view plus an overscan, at fixed offsets', () => {
    expect(rowsInView(20, g, 5)).toEqual([15, 36]);
    expect(rowsInView(0, g, 5)).toEqual([0, 16]);
    expect(rowsInView(995, g, 5)).toEqual([990, 1000]);
    expect(rowTop(25, 20, 360, g)).toBe(450);
  });

  it('renders nothing for no rows', () => {
    expect(rowsInView(0, { rows: 0, viewport: 500 })).toEqual([0, 0]);
    expect(maxTopRow({ rows: 0, viewport: 500 })).toBe(0);
  });
});

describe('a list taller than the browser allows', () => {
  // 50 million rows of 18 px: 900 million px, scaled into 8 million.
  const g: Geometry = { rows: 50_000_000, viewport: 900, lineHeight: 18, maxHeight: 8_000_000 };
  const range = 8_000_000 - 900;

  it('caps its height and maps the scrollbar proportionally onto the rows', () => {
    expect(isScaled(g)).toBe(true);
    expect(scrollHeight(g)).toBe(8_000_000);
    expect(rowAtScroll(0, g)).toBe(0);
    expect(rowAtScroll(range, g)).toBe(maxTopRow(g));
    expect(rowAtScroll(range / 2, g)).toBeCloseTo(maxTopRow(g) / 2, 6);
    expect(scrollAtRow(maxTopRow(g), g)).toBeCloseTo(range, 6);
    expect(scrollAtRow(rowAtScroll(123_456, g), g)).toBeCloseTo(123_456, 6);
  });

  it('keeps the rows in view a screenful, placed around the scroll offset', () => {
    const top = 25_000_000.5;
    const [from, to] = rowsInView(top, g, 10);
    expect([from, to]).toEqual([24_999_990, 25_000_061]);
    const scrollTop = scrollAtRow(top, g);
    expect(rowTop(25_000_000, top, scrollTop, g)).toBeCloseTo(scrollTop - 9, 6);
    // The last row ends exactly at the bottom of the content.
    const end = scrollAtRow(maxTopRow(g), g);
    expect(rowTop(g.rows - 1, maxTopRow(g), end, g) + 18).toBeCloseTo(8_000_000, 4);
  });
});
