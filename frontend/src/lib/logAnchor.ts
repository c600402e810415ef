// Line anchors in a log's URL, as GitHub writes them: `#L12` for line 12, `#L12-L20` for a
// range. Lines count from 1 in anchors and on screen, from 0 in the API.

export interface LineRange {
  /** First line (0-based). */
  from: number;
  /** Last line (0-based, inclusive). */
  to: number;
}

/** The lines a URL fragment names, or null. */
export function parseAnchor(hash: string): LineRange | null {
  const m = /^#?L(\d+)(?:-L?(\d+))?$/.exec(hash);
  if (!m) return null;
  const a = Number(m[1]) - 1;
  const b = m[2] ? Number(m[2]) - 1 : a;
  if (a < 0 || b < 0) return null;
  return { from: Math.min(a, b), to: Math.max(a, b) };
}

/** The URL fragment for some lines. */
export function formatAnchor({ from, to }: LineRange): string {
  return from === to ? `#L${from + 1}` : `#L${from + 1}-L${to + 1}`;
}

/** The range a click on line `line` selects: the line, or with shift from the current one. */
export function clickRange(current: LineRange | null, line: number, extend: boolean): LineRange {
  if (!extend || !current) return { from: line, to: line };
  return { from: Math.min(current.from, line), to: Math.max(current.from, line) };
}
