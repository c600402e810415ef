// Virtualisation arithmetic for rows of one fixed height. Browsers cap an element's height
// (about 17 million pixels in Firefox, 33 million in Chromium), and a 1 GB log has more rows
// than that at 18 px each, so past `MAX_SCROLL_HEIGHT` the scrollbar maps proportionally onto
// the rows: the position is kept as a (fractional) top row, and the scroll offset follows it.

export const LINE_HEIGHT = 18;
/** Tallest scrollable height used; beyond it scrolling is scaled. */
export const MAX_SCROLL_HEIGHT = 8_000_000;

export interface Geometry {
  rows: number;
  /** Height of the visible area, px. */
  viewport: number;
  lineHeight?: number;
  maxHeight?: number;
}

/** The scrollable height of the rows. */
export function scrollHeight({
  rows,
  lineHeight = LINE_HEIGHT,
  maxHeight = MAX_SCROLL_HEIGHT,
}: Geometry): number {
  return Math.min(rows * lineHeight, maxHeight);
}

/** Whether the scrollbar is scaled (the rows are taller than `maxHeight`). */
export function isScaled(g: Geometry): boolean {
  return g.rows * (g.lineHeight ?? LINE_HEIGHT) > (g.maxHeight ?? MAX_SCROLL_HEIGHT);
}

/** The highest top row: the last row at the bottom of the viewport. */
export function maxTopRow({ rows, viewport, lineHeight = LINE_HEIGHT }: Geometry): number {
  return Math.max(0, rows - viewport / lineHeight);
}

function maxScroll(g: Geometry): number {
  return Math.max(0, scrollHeight(g) - g.viewport);
}

/** The top row (fractional) for a scroll offset. */
export function rowAtScroll(scrollTop: number, g: Geometry): number {
  const lh = g.lineHeight ?? LINE_HEIGHT;
  if (!isScaled(g)) return Math.max(0, scrollTop / lh);
  const range = maxScroll(g);
  return range > 0 ? (Math.min(scrollTop, range) / range) * maxTopRow(g) : 0;
}

/** The scroll offset for a top row. */
export function scrollAtRow(topRow: number, g: Geometry): number {
  const lh = g.lineHeight ?? LINE_HEIGHT;
  const top = clampTop(topRow, g);
  if (!isScaled(g)) return top * lh;
  const most = maxTopRow(g);
  return most > 0 ? (top / most) * maxScroll(g) : 0;
}

/** `topRow` kept between the first row and the last screenful. */
export function clampTop(topRow: number, g: Geometry): number {
  return Math.max(0, Math.min(topRow, maxTopRow(g)));
}

/** Rows `[from, to)` to render at `topRow`, with `overscan` more on each side. */
export function rowsInView(topRow: number, g: Geometry, overscan = 10): [number, number] {
  const lh = g.lineHeight ?? LINE_HEIGHT;
  const first = Math.floor(topRow);
  const from = Math.max(0, first - overscan);
  const to = Math.min(g.rows, first + Math.ceil(g.viewport / lh) + 1 + overscan);
  return [from, Math.max(from, to)];
}

/** Where row `row` goes inside the scrolled content, px from its top. */
export function rowTop(row: number, topRow: number, scrollTop: number, g: Geometry): number {
  const lh = g.lineHeight ?? LINE_HEIGHT;
  // Unscaled, rows sit at fixed offsets; scaled, they are placed around the scroll offset.
  return isScaled(g) ? scrollTop + (row - topRow) * lh : row * lh;
}
