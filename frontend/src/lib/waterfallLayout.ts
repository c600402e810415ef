// The waterfall's time layout (after 0.8.9 `web/waterfall.py`), as a pure function.
//
// Builds are taken newest first. A window of `spanMs` starts at the newest build's start
// time and crawls backwards; every window becomes one row holding, per builder column, the
// builds that started inside it. The next window starts at the next older build, so empty
// time is skipped. The time column shows the oldest start of each row, with the date when
// the day changes.

export interface LayoutBuild {
  builder: string;
  number: number;
  started_at: string;
}

export interface WaterfallRow<B extends LayoutBuild> {
  /** Start time (ms) of the oldest build in the row: the row's bottom. */
  time: number;
  /** Start time (ms) of the newest build in the row: the row's top. */
  top: number;
  /** Whether the time label should carry the date (day changed since the row above). */
  showDate: boolean;
  /** One list per column, newest build first. */
  cells: B[][];
}

export interface WaterfallLayout<B extends LayoutBuild> {
  columns: string[];
  rows: WaterfallRow<B>[];
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

export function layoutWaterfall<B extends LayoutBuild>(
  builders: readonly string[],
  builds: readonly B[],
  opts: LayoutOptions = {},
): WaterfallLayout<B> {
  const spanMs = opts.spanMs ?? 10_000;
  const maxRows = opts.maxRows ?? 200;
  const dayOf = opts.dayOf ?? localDay;
  const column = new Map(builders.map((name, i) => [name, i]));

  const sorted = builds
    .filter((b) => column.has(b.builder))
    .map((b) => ({ b, t: Date.parse(b.started_at) }))
    .filter((x) => !Number.isNaN(x.t))
    .sort((x, y) => y.t - x.t || y.b.number - x.b.number);

  const rows: WaterfallRow<B>[] = [];
  let prevDay = dayOf(opts.now ?? Date.now());
  let i = 0;
  while (i < sorted.length && rows.length < maxRows) {
    const top = sorted[i].t;
    const cells: B[][] = builders.map(() => []);
    let time = top;
    while (i < sorted.length && sorted[i].t > top - spanMs) {
      const { b, t } = sorted[i];
      cells[column.get(b.builder)!].push(b);
      time = t;
      i++;
    }
    const day = dayOf(time);
    rows.push({ time, top, showDate: day !== prevDay, cells });
    prevDay = day;
  }
  return { columns: [...builders], rows };
}
