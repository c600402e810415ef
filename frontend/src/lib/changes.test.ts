import { describe, expect, it } from 'vitest';
import type { Build, Change, ChangeList } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import {
  applyChangeBuildEvent,
  applyChangeEvent,
  changeArgs,
  changeMatches,
  filterUrl,
  newestUrl,
  olderUrl,
} from './changes';

const AT = '2024-05-01T12:00:00Z';
const change = (id: number, over: Partial<Change> = {}): Change => ({
  id,
  author: 'Ann <ann@example.org>',
  comments: 'fix',
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
const build = (id: number, over: Partial<Build> = {}): Build => ({
  id,
  builder: 'linux',
  number: id,
  buildrequest_id: id,
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
const newChange = (c: Change): ServerEvent => ({ type: 'change.new', at: AT, change: c });
const args = (qs: string) => changeArgs(new URLSearchParams(qs));

describe('changeArgs', () => {
  it('reads the filters, the page and its size', () => {
    expect(args('author=Ann&author=Bob&branch=main&repository=r&project=p&before=40')).toEqual({
      author: ['Ann', 'Bob'],
      branch: ['main'],
      repository: ['r'],
      project: ['p'],
      before: 40,
      limit: 50,
    });
    expect(args('limit=5').limit).toBe(5);
    expect(args('limit=0').limit).toBe(50);
    expect(args('limit=5000').limit).toBe(1000);
    expect(args('before=0').before).toBeUndefined();
    expect(args('before=x').before).toBeUndefined();
  });
});

describe('page links', () => {
  it('keep the filters and size, and move the cursor', () => {
    const a = args('author=Ann+Lee&branch=main&limit=5&before=90');
    expect(olderUrl(a, 70)).toBe('/changes?author=Ann+Lee&branch=main&limit=5&before=70');
    expect(newestUrl(a)).toBe('/changes?author=Ann+Lee&branch=main&limit=5');
    expect(newestUrl(args(''))).toBe('/changes');
  });
  it('narrow the filters from the first page', () => {
    const a = args('branch=main&before=90');
    expect(filterUrl(a, 'author', 'Bob <b@x>')).toBe('/changes?author=Bob+%3Cb%40x%3E&branch=main');
    expect(filterUrl(a, 'branch', 'dev')).toBe('/changes?branch=dev');
  });
});

describe('changeMatches', () => {
  it('ORs the values of one filter and ANDs the filters', () => {
    expect(changeMatches(change(1), args(''))).toBe(true);
    expect(changeMatches(change(1), args('author=Bob&author=Ann+<ann@example.org>'))).toBe(true);
    expect(changeMatches(change(1), args('author=Bob'))).toBe(false);
    expect(changeMatches(change(1), args('project=app&repository=other'))).toBe(false);
    expect(changeMatches(change(1, { branch: undefined }), args('branch=trunk'))).toBe(true);
    expect(changeMatches(change(1, { branch: undefined }), args('branch=main'))).toBe(false);
  });
});

describe('applyChangeEvent', () => {
  const page: ChangeList = { changes: [change(3), change(2)], next_before: 2 };

  it('puts a new change on top of the newest page', () => {
    const next = applyChangeEvent(page, newChange(change(4)), args(''));
    expect(next.changes.map((c) => c.id)).toEqual([4, 3, 2]);
    expect(next.next_before).toBe(2);
  });

  it('ignores changes already shown, filtered out, and every later page', () => {
    expect(applyChangeEvent(page, newChange(change(3)), args(''))).toBe(page);
    expect(applyChangeEvent(page, newChange(change(4)), args('author=Bob'))).toBe(page);
    expect(applyChangeEvent(page, newChange(change(4)), args('before=9'))).toBe(page);
    const other: ServerEvent = { type: 'build.started', at: AT, build: build(1) };
    expect(applyChangeEvent(page, other, args(''))).toBe(page);
  });

  it('keeps the page size, moving the older link up', () => {
    let p: ChangeList = { changes: [change(2), change(1)] };
    const a = args('limit=2');
    for (let id = 3; id <= 12; id++) p = applyChangeEvent(p, newChange(change(id)), a);
    // limit 2 plus a slack of 10, then cut back to 2
    expect(p.changes.map((c) => c.id)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    p = applyChangeEvent(p, newChange(change(13)), a);
    expect(p.changes.map((c) => c.id)).toEqual([13, 12]);
    expect(p.next_before).toBe(12);
  });
});

describe('applyChangeBuildEvent', () => {
  const started = (b: Build, ids: number[]): ServerEvent => ({
    type: 'build.started',
    at: AT,
    build: b,
    change_ids: ids,
  });

  it('adds the builds that start with the change, newest first', () => {
    const list = applyChangeBuildEvent([build(1)], started(build(5), [7, 8]), 7);
    expect(list.map((b) => b.id)).toEqual([5, 1]);
    expect(applyChangeBuildEvent([build(1)], started(build(5), [8]), 7)).toHaveLength(1);
  });

  it('follows a listed build through its steps to its result', () => {
    let list = [build(5)];
    const step: ServerEvent = {
      type: 'step.started',
      at: AT,
      build: build(5, { state_text: 'compile' }),
    };
    list = applyChangeBuildEvent(list, step, 7);
    expect(list[0].state_text).toBe('compile');
    const done = build(5, { complete: true, results: 'failure', state_text: 'failed compile' });
    list = applyChangeBuildEvent(list, { type: 'build.finished', at: AT, build: done }, 7);
    expect(list[0].results).toBe('failure');
    // A late step event does not bring it back to running.
    expect(applyChangeBuildEvent(list, step, 7)).toBe(list);
  });

  it('ignores step events of builds it does not list', () => {
    const ev: ServerEvent = { type: 'step.started', at: AT, build: build(9), change_ids: [7] };
    expect(applyChangeBuildEvent([], ev, 7)).toEqual([]);
  });
});
