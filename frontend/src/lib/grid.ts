// The grid and transposed grid as data: stamp labels, and the pure reducer that applies
// build events to a grid page (a build of a new source stamp opens a new column).
import type { Build, BuildSummary, Grid, GridStamp } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import { shortRev } from './links';
import { branchMatches } from './query';

/** 0.8.9's stamp header: `project: codebase: shortrev in branch`, "latest" without a revision. */
export function stampLabel(s: Pick<GridStamp, 'project' | 'codebase' | 'revision' | 'branch'>) {
  const parts = [s.project, s.codebase].filter((p) => p !== '');
  const rev = s.revision ? shortRev(s.revision) : 'latest';
  const where = s.branch ? ` in ${s.branch}` : '';
  return [...parts, `${rev}${where}`].join(': ');
}

function sameStamp(s: GridStamp, b: Build): boolean {
  return (
    s.project === b.project &&
    s.codebase === b.codebase &&
    (s.branch ?? null) === (b.branch ?? null) &&
    (s.revision ?? null) === (b.revision ?? null)
  );
}

export function summary(b: Build): BuildSummary {
  return {
    number: b.number,
    results: b.results,
    complete: b.complete,
    state_text: b.state_text,
    started_at: b.started_at,
    finished_at: b.finished_at,
  };
}

/**
 * A build event applied to the grid: the build goes into its builder's row, in its stamp's
 * column, unless that cell already shows a newer build. A stamp not on the page becomes the
 * newest column, and the oldest goes once there are more than `width`.
 */
export function applyGridEvent(
  grid: Grid,
  ev: ServerEvent,
  width: number,
  branches: readonly string[] = [],
): Grid {
  if ((ev.type !== 'build.started' && ev.type !== 'build.finished') || !ev.build) return grid;
  const b = ev.build;
  const row = grid.rows.findIndex((r) => r.builder.name === b.builder);
  if (row < 0 || !branchMatches(branches, b.branch)) return grid;
  let stamps = grid.stamps;
  let rows = grid.rows;
  let col = stamps.findIndex((s) => sameStamp(s, b));
  if (col < 0) {
    if (ev.type !== 'build.started') return grid;
    const stamp: GridStamp = {
      project: b.project,
      codebase: b.codebase,
      branch: b.branch,
      revision: b.revision,
      repository: b.repository,
      time: b.started_at,
    };
    stamps = [...stamps, stamp];
    rows = rows.map((r) => ({ ...r, cells: [...r.cells, {}] }));
    const drop = Math.max(0, stamps.length - width);
    if (drop > 0) {
      stamps = stamps.slice(drop);
      rows = rows.map((r) => ({ ...r, cells: r.cells.slice(drop) }));
    }
    col = stamps.length - 1;
  }
  const current = rows[row].cells[col].build;
  if (current && current.number > b.number) return stamps === grid.stamps ? grid : { stamps, rows };
  const cells = rows[row].cells.slice();
  cells[col] = { build: summary(b) };
  rows = rows.slice();
  rows[row] = { ...rows[row], cells };
  return { stamps, rows };
}
