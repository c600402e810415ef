// The console as data: builder columns grouped by category, 0.8.9's box classes, and the
// pure reducer that applies server events to a console page (new changes become rows,
// builds colour the boxes of the changes they contain, failed steps appear under red boxes).
import type {
  Build,
  Builder,
  Change,
  Console,
  ConsoleBox,
  ConsoleClass,
  ConsoleRow,
  Results,
} from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import { summary } from './grid';
import { branchMatches } from './query';

/** A builder's category: its first tag up to a `|` (0.8.9's convention), or "". */
export function categoryOf(b: Pick<Builder, 'tags'>): string {
  return (b.tags[0] ?? '').split('|')[0].trim();
}

export interface ColumnGroup {
  category: string;
  /** Indexes into the page's builders, in their order. */
  columns: number[];
}

/** The columns grouped by category, categories by name, uncategorised builders last. */
export function groupColumns(builders: readonly Pick<Builder, 'tags'>[]): ColumnGroup[] {
  const groups = new Map<string, number[]>();
  builders.forEach((b, i) => {
    const c = categoryOf(b);
    groups.set(c, [...(groups.get(c) ?? []), i]);
  });
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)))
    .map(([category, columns]) => ({ category, columns }));
}

/** The class of a box showing a finished build (the server's `box_class`, for live updates). */
export function finishedClass(results: Results | undefined, previous?: Results): ConsoleClass {
  switch (results) {
    case undefined:
      return 'running';
    case 'success':
      return 'success';
    case 'warnings':
      return 'warnings';
    case 'failure':
      return previous === 'failure' ? 'failure-again' : 'failure';
    default:
      return 'exception';
  }
}

/** What the page was asked for: the console's change filters and row count. */
export interface ConsoleFilters {
  repositories: string[];
  branches: string[];
  projects: string[];
  codebases: string[];
  names: string[];
  revs: number;
}

export function changeMatches(c: Change, f: ConsoleFilters): boolean {
  const any = (list: string[], v: string) => list.length === 0 || list.includes(v);
  return (
    any(f.repositories, c.repository) &&
    branchMatches(f.branches, c.branch) &&
    any(f.projects, c.project) &&
    any(f.codebases, c.codebase) &&
    any(f.names, c.author)
  );
}

function sameRevision(a: Change, b: Change): boolean {
  return (
    a.revision != null &&
    a.revision === b.revision &&
    a.repository === b.repository &&
    a.codebase === b.codebase
  );
}

/** The results of build `number` of a builder, from the page's boxes. */
function resultsOf(page: Console, column: number, number: number): Results | undefined {
  for (const r of page.rows) {
    const b = r.boxes[column]?.build;
    if (b && b.number === number) return b.results;
  }
  return undefined;
}

function newRow(page: Console, ev: ServerEvent): Console {
  const change = ev.change!;
  const same = page.rows.findIndex((r) => sameRevision(r.change, change));
  if (same >= 0) {
    const rows = page.rows.slice();
    rows[same] = { ...rows[same], change_ids: [...rows[same].change_ids, change.id] };
    return { ...page, rows };
  }
  const takers = ev.builders ?? [];
  const row: ConsoleRow = {
    change,
    change_ids: [change.id],
    boxes: page.builders.map((b) => ({
      class: takers.includes(b.name) ? 'notstarted' : 'notinbuilder',
      failed_steps: [],
    })),
  };
  return { ...page, rows: [row, ...page.rows] };
}

function buildEvent(page: Console, b: Build, changeIds: number[]): Console {
  const col = page.builders.findIndex((x) => x.name === b.builder);
  if (col < 0 || changeIds.length === 0) return page;
  let changed = false;
  const previous =
    resultsOf(page, col, b.number - 1) ??
    (page.builders[col].last_build?.number === b.number - 1
      ? page.builders[col].last_build?.results
      : undefined);
  const rows = page.rows.map((r) => {
    if (!r.change_ids.some((id) => changeIds.includes(id))) return r;
    const box = r.boxes[col];
    if (box.build && box.build.number > b.number) return r;
    const next: ConsoleBox = {
      class: b.complete ? finishedClass(b.results, previous) : 'running',
      build: summary(b),
      failed_steps: box.build?.number === b.number ? box.failed_steps : [],
    };
    const boxes = r.boxes.slice();
    boxes[col] = next;
    changed = true;
    return { ...r, boxes };
  });
  if (!changed) return page;
  const builders = b.complete
    ? page.builders.map((x, i) => (i === col ? { ...x, last_build: b } : x))
    : page.builders;
  return { builders, rows };
}

function failedStep(page: Console, ev: ServerEvent): Console {
  const step = ev.step!;
  if (step.results !== 'failure' && step.results !== 'exception') return page;
  const col = page.builders.findIndex((x) => x.name === ev.build?.builder);
  if (col < 0) return page;
  let changed = false;
  const rows = page.rows.map((r) => {
    const box = r.boxes[col];
    if (box.build?.number !== ev.build?.number) return r;
    if (box.failed_steps.some((s) => s.number === step.number)) return r;
    const boxes = r.boxes.slice();
    boxes[col] = { ...box, failed_steps: [...box.failed_steps, step] };
    changed = true;
    return { ...r, boxes };
  });
  return changed ? { ...page, rows } : page;
}

/** A server event applied to a console page asked for with `filters`. */
export function applyConsoleEvent(
  page: Console,
  ev: ServerEvent,
  filters: ConsoleFilters,
): Console {
  switch (ev.type) {
    case 'change.new': {
      if (!ev.change || !changeMatches(ev.change, filters)) return page;
      const next = newRow(page, ev);
      return next.rows.length > filters.revs
        ? { ...next, rows: next.rows.slice(0, filters.revs) }
        : next;
    }
    case 'build.started':
    case 'build.finished':
      return ev.build ? buildEvent(page, ev.build, ev.change_ids ?? []) : page;
    case 'step.finished':
      return ev.step && ev.build ? failedStep(page, ev) : page;
    default:
      return page;
  }
}
