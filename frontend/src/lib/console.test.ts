import { describe, expect, it } from 'vitest';
import type { Build, Builder, Change, Console, Step } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import {
  applyConsoleEvent,
  categoryOf,
  finishedClass,
  groupColumns,
  type ConsoleFilters,
} from './console';

const AT = '2024-05-01T12:00:00Z';
const builder = (name: string, tags: string[] = [], over: Partial<Builder> = {}): Builder => ({
  name,
  tags,
  workers: [],
  state: 'idle',
  pending: 0,
  running: 0,
  can_force: false,
  ...over,
});
const change = (id: number, revision: string, over: Partial<Change> = {}): Change => ({
  id,
  author: 'ann <ann@example.org>',
  comments: 'fix',
  revision,
  branch: 'main',
  repository: 'https://git/app',
  project: 'app',
  codebase: '',
  when: AT,
  received_at: AT,
  files: [],
  properties: {},
  ...over,
});
const build = (b: string, number: number, over: Partial<Build> = {}): Build => ({
  id: number,
  builder: b,
  number,
  buildrequest_id: number,
  started_at: AT,
  complete: false,
  state_text: 'building',
  reason: '',
  codebase: '',
  project: 'app',
  repository: 'https://git/app',
  properties: {},
  ...over,
});
const filters: ConsoleFilters = {
  repositories: [],
  branches: [],
  projects: [],
  codebases: [],
  names: [],
  revs: 3,
};
const page = (): Console => ({
  builders: [builder('linux'), builder('mac')],
  rows: [
    {
      change: change(2, 'r2'),
      change_ids: [2],
      boxes: [
        { class: 'notstarted', failed_steps: [] },
        { class: 'notinbuilder', failed_steps: [] },
      ],
    },
    {
      change: change(1, 'r1'),
      change_ids: [1],
      boxes: [
        {
          class: 'failure',
          failed_steps: [],
          build: {
            number: 7,
            results: 'failure',
            complete: true,
            state_text: 'failed',
            started_at: AT,
          },
        },
        { class: 'notinbuilder', failed_steps: [] },
      ],
    },
  ],
});
const ev = (e: Omit<ServerEvent, 'at'>): ServerEvent => ({ at: AT, ...e });

describe('columns', () => {
  it('group by first tag up to a bar, categories sorted, untagged last', () => {
    expect(categoryOf(builder('x', ['linux|x86', 'fast']))).toBe('linux');
    const groups = groupColumns([
      builder('a', ['win']),
      builder('b'),
      builder('c', ['linux']),
      builder('d', ['win|arm']),
    ]);
    expect(groups).toEqual([
      { category: 'linux', columns: [2] },
      { category: 'win', columns: [0, 3] },
      { category: '', columns: [1] },
    ]);
  });
});

describe('finishedClass', () => {
  it('tells a new failure from a failure again', () => {
    expect(finishedClass('failure', 'success')).toBe('failure');
    expect(finishedClass('failure', undefined)).toBe('failure');
    expect(finishedClass('failure', 'failure')).toBe('failure-again');
    expect(finishedClass('cancelled')).toBe('exception');
    expect(finishedClass(undefined)).toBe('running');
  });
});

describe('applyConsoleEvent', () => {
  it('adds a new change on top, not started where it will be built, and keeps revs rows', () => {
    let p = applyConsoleEvent(
      page(),
      ev({ type: 'change.new', change: change(3, 'r3'), builders: ['mac'] }),
      filters,
    );
    expect(p.rows.map((r) => r.change.id)).toEqual([3, 2, 1]);
    expect(p.rows[0].boxes.map((b) => b.class)).toEqual(['notinbuilder', 'notstarted']);
    p = applyConsoleEvent(p, ev({ type: 'change.new', change: change(4, 'r4') }), filters);
    expect(p.rows.map((r) => r.change.id)).toEqual([4, 3, 2]);
  });

  it('folds a revision seen again into its row and skips filtered changes', () => {
    let p = applyConsoleEvent(page(), ev({ type: 'change.new', change: change(9, 'r2') }), filters);
    expect(p.rows[0].change_ids).toEqual([2, 9]);
    p = applyConsoleEvent(
      page(),
      ev({ type: 'change.new', change: change(10, 'x', { branch: 'dev' }) }),
      { ...filters, branches: ['main'] },
    );
    expect(p.rows).toHaveLength(2);
  });

  it('colours the boxes of the changes a build contains, running then finished', () => {
    let p = applyConsoleEvent(
      page(),
      ev({ type: 'build.started', build: build('linux', 8), change_ids: [2] }),
      filters,
    );
    expect(p.rows[0].boxes[0].class).toBe('running');
    const done = build('linux', 8, { complete: true, results: 'failure' });
    p = applyConsoleEvent(p, ev({ type: 'build.finished', build: done, change_ids: [2] }), filters);
    expect(p.rows[0].boxes[0].class).toBe('failure-again');
    expect(p.rows[0].boxes[0].build?.number).toBe(8);
  });

  it('lists failed steps under the box of their build', () => {
    const step: Step = {
      number: 2,
      name: 'test',
      state_text: 'test failed (exit 1)',
      results: 'failure',
      complete: true,
      logs: [{ name: 'stdio', slug: 'stdio', num_lines: 3, complete: true }],
    };
    let p = applyConsoleEvent(
      page(),
      ev({ type: 'step.finished', build: build('linux', 7), step }),
      filters,
    );
    expect(p.rows[1].boxes[0].failed_steps.map((s) => s.name)).toEqual(['test']);
    p = applyConsoleEvent(
      p,
      ev({ type: 'step.finished', build: build('linux', 7), step }),
      filters,
    );
    expect(p.rows[1].boxes[0].failed_steps).toHaveLength(1);
  });

  it('keeps a newer build in a box and ignores unrelated builds', () => {
    const p = page();
    expect(
      applyConsoleEvent(
        p,
        ev({ type: 'build.started', build: build('linux', 6), change_ids: [1] }),
        filters,
      ),
    ).toBe(p);
    expect(
      applyConsoleEvent(
        p,
        ev({ type: 'build.started', build: build('linux', 9), change_ids: [77] }),
        filters,
      ),
    ).toBe(p);
  });
});
