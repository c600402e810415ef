// The waterfall's time layout (after 0.8.9 `web/waterfall.py`), as a pure function.
//
// Items (builds, changes, worker and master events) are taken newest first. A window of
// `spanMs` starts at the newest item's time and crawls backwards; every window becomes one
// row holding, per column, the items that started inside it. The next window starts at the
// next older item, so empty time is collapsed. The time column shows the oldest time of each
// row, with the date when the day changes.

/** Something placed on the time axis, in one or more columns. */
export interface Timed<T> {
  /** Column indexes it appears in (a worker event shows in each builder that uses it). */
  columns: number[];
  /** Its time (ms). */
  time: number;
  /** Tie-break between equal times: greater is newer. */
  order: number;
  value: T;
}

export interface WaterfallRow<T> {
  /** Time (ms) of the oldest item in the row: the row's bottom. */
  time: number;
  /** Time (ms) of the newest item in the row: the row's top. */
  top: number;
  /** Whether the time label should carry the date (day changed since the row above). */
  showDate: boolean;
  /** One list per column, newest first. */
  cells: T[][];
}

export interface LayoutOptions {
  /** Length of one row's time window; 0.8.9's `spanLength` is 10 s. */
  spanMs?: number;
  /** Maximum number of rows (0.8.9's `num_events`). */
  maxRows?: number;
  /** The current time, for deciding whether the first row needs a date. */
  now?: number;
  /** Day of a timestamp, used to detect day changes; defaults to the local calendar day. */
  dayOf?: (ms: number) => string;
}

export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function layoutWaterfall<T>(
  columns: number,
  items: readonly Timed<T>[],
  opts: LayoutOptions = {},
): WaterfallRow<T>[] {
  const spanMs = opts.spanMs ?? 10_000;
  const maxRows = opts.maxRows ?? 200;
  const dayOf = opts.dayOf ?? localDay;
  const sorted = items
    .filter((x) => !Number.isNaN(x.time) && x.columns.some((c) => c >= 0 && c < columns))
    .slice()
    .sort((x, y) => y.time - x.time || y.order - x.order);

  const rows: WaterfallRow<T>[] = [];
  let prevDay = dayOf(opts.now ?? Date.now());
  let i = 0;
  while (i < sorted.length && rows.length < maxRows) {
    const top = sorted[i].time;
    const cells: T[][] = Array.from({ length: columns }, () => []);
    let time = top;
    while (i < sorted.length && sorted[i].time > top - spanMs) {
      const x = sorted[i];
      for (const c of x.columns) if (c >= 0 && c < columns) cells[c].push(x.value);
      time = x.time;
      i++;
    }
    const day = dayOf(time);
    rows.push({ time, top, showDate: day !== prevDay, cells });
    prevDay = day;
  }
  return rows;
}
