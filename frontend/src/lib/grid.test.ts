import { describe, expect, it } from 'vitest';
import type { Build, Builder, Grid } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import { applyGridEvent, stampLabel } from './grid';

const AT = '2024-05-01T12:00:00Z';
const builder = (name: string): Builder => ({
  name,
  tags: [],
  workers: [],
  state: 'idle',
  pending: 0,
  running: 0,
  can_force: false,
});
const build = (b: string, number: number, revision: string, over: Partial<Build> = {}): Build => ({
  id: number,
  builder: b,
  number,
  buildrequest_id: number,
  started_at: AT,
  complete: false,
  state_text: 'building',
  reason: '',
  branch: 'main',
  revision,
  codebase: '',
  project: 'app',
  repository: 'https://git/app',
  properties: {},
  ...over,
});
const stamp = (revision: string) => ({
  project: 'app',
  codebase: '',
  branch: 'main',
  revision,
  repository: 'https://git/app',
  time: AT,
});
const grid = (): Grid => ({
  stamps: [stamp('r1'), stamp('r2')],
  rows: [
    { builder: builder('linux'), cells: [{}, {}] },
    { builder: builder('mac'), cells: [{}, {}] },
  ],
});
const started = (b: Build): ServerEvent => ({ type: 'build.started', at: AT, build: b });

describe('stampLabel', () => {
  it('reads like 0.8.9: project, codebase, short revision in branch', () => {
    expect(stampLabel({ project: 'app', codebase: 'core', revision: 'abc', branch: 'main' })).toBe(
      'app: core: abc in main',
    );
    expect(stampLabel({ project: '', codebase: '', revision: undefined, branch: undefined })).toBe(
      'latest',
    );
  });
});

describe('applyGridEvent', () => {
  it('puts a build into its stamp column', () => {
    const g = applyGridEvent(grid(), started(build('mac', 3, 'r2')), 5);
    expect(g.rows[1].cells[1].build?.number).toBe(3);
    expect(g.stamps).toHaveLength(2);
  });

  it('opens a column for a new stamp and drops the oldest past the width', () => {
    const g = applyGridEvent(grid(), started(build('linux', 4, 'r3')), 2);
    expect(g.stamps.map((s) => s.revision)).toEqual(['r2', 'r3']);
    expect(g.rows[0].cells.map((c) => c.build?.number)).toEqual([undefined, 4]);
    expect(g.rows[1].cells).toHaveLength(2);
  });

  it('keeps a newer build and updates the same one when it finishes', () => {
    let g = applyGridEvent(grid(), started(build('linux', 5, 'r1')), 5);
    g = applyGridEvent(g, started(build('linux', 4, 'r1')), 5);
    expect(g.rows[0].cells[0].build?.number).toBe(5);
    const done = build('linux', 5, 'r1', { complete: true, results: 'failure' });
    g = applyGridEvent(g, { type: 'build.finished', at: AT, build: done }, 5);
    expect(g.rows[0].cells[0].build?.results).toBe('failure');
  });

  it('ignores other builders, filtered branches and other events', () => {
    const g = grid();
    expect(applyGridEvent(g, started(build('windows', 1, 'r1')), 5)).toBe(g);
    expect(
      applyGridEvent(g, started(build('linux', 1, 'r1', { branch: 'dev' })), 5, ['main']),
    ).toBe(g);
    expect(applyGridEvent(g, { type: 'change.new', at: AT }, 5)).toBe(g);
  });
});
