// Folding: which lines folded sections hide, and the mapping between rows (what the
// virtualised list shows, one per visible line) and line numbers. Built in one pass over the
// sections; each mapping is a binary search, so a log of millions of lines with thousands of
// sections scrolls as cheaply as a short one.
import { sectionEnd, type Section } from './logSections';

export interface FoldMap {
  /** Lines in the log. */
  total: number;
  /** Rows shown: lines not hidden. */
  rows: number;
  /** Hidden runs of lines, `[from, to]` inclusive, sorted and disjoint. */
  hidden: [number, number][];
  /** `cum[i]`: lines hidden by the first `i` runs. */
  cum: number[];
}

/** Whether a section is folded: the user's choice if any, else its default. */
export type IsFolded = (s: Section) => boolean;

/** The fold map of `total` lines with `sections` (sorted by start) folded as `isFolded` says. */
export function buildFold(
  sections: readonly Section[],
  isFolded: IsFolded,
  total: number,
): FoldMap {
  const hidden: [number, number][] = [];
  const cum = [0];
  let covered = -1;
  for (const s of sections) {
    if (s.start >= total) break;
    // A section whose header is already hidden folds nothing more.
    if (s.start <= covered || !isFolded(s)) continue;
    const from = s.start + 1;
    const to = sectionEnd(s, total);
    if (from > to) continue;
    hidden.push([from, to]);
    cum.push(cum[cum.length - 1] + to - from + 1);
    covered = to;
  }
  return { total, rows: total - cum[cum.length - 1], hidden, cum };
}

/** Number of hidden runs starting at or before `key`, by `pick` (the run's start or its start row). */
function countUpTo(map: FoldMap, key: number, pick: (i: number) => number): number {
  let lo = 0;
  let hi = map.hidden.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pick(mid) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The line shown on `row`. */
export function lineOfRow(map: FoldMap, row: number): number {
  // Run i would begin on row `from - cum[i]`; every run beginning at or before `row` is skipped.
  const k = countUpTo(map, row, (i) => map.hidden[i][0] - map.cum[i]);
  return row + map.cum[k];
}

/** The row showing `line`; a hidden line shows as the header of the section hiding it. */
export function rowOfLine(map: FoldMap, line: number): number {
  const k = countUpTo(map, line, (i) => map.hidden[i][0]);
  if (k > 0 && line <= map.hidden[k - 1][1]) return map.hidden[k - 1][0] - 1 - map.cum[k - 1];
  return line - map.cum[k];
}

/** Whether `line` is hidden by a folded section. */
export function isHidden(map: FoldMap, line: number): boolean {
  const k = countUpTo(map, line, (i) => map.hidden[i][0]);
  return k > 0 && line <= map.hidden[k - 1][1];
}
