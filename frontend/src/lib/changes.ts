// The changes pages as data: the list's arguments (0.8.9's names) and its pages, the pure
// reducer that puts a change arriving live on the first page, and the one that keeps a
// change's builds current as they start, progress and finish.
import type { Build, Change, ChangeList } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import { branchMatches, listArg, numberArg, pageUrl, type ArgValue } from './query';

/** The list's page size when `limit=` does not say (the API's default). */
export const DEFAULT_LIMIT = 50;

/** What `/changes` is asked for: filters (lists OR their values) and the page. */
export interface ChangeArgs {
  author: string[];
  branch: string[];
  repository: string[];
  project: string[];
  /** Only changes older than this id (a later page); absent on the newest page. */
  before?: number;
  limit: number;
}

export function changeArgs(query: URLSearchParams): ChangeArgs {
  const before = numberArg(query, 'before');
  const limit = numberArg(query, 'limit');
  return {
    author: listArg(query, 'author'),
    branch: listArg(query, 'branch'),
    repository: listArg(query, 'repository'),
    project: listArg(query, 'project'),
    before: before != null && before > 0 ? Math.floor(before) : undefined,
    limit: limit != null && limit >= 1 ? Math.min(1000, Math.floor(limit)) : DEFAULT_LIMIT,
  };
}

/** The page's arguments as its URL; `limit` is left out when it is the default. */
export function changesUrl(args: ChangeArgs): string {
  const q: Record<string, ArgValue> = {
    author: args.author,
    branch: args.branch,
    repository: args.repository,
    project: args.project,
    limit: args.limit === DEFAULT_LIMIT ? undefined : args.limit,
    before: args.before,
  };
  return pageUrl('/changes', q);
}

/** The page after this one: the same filters, older than `nextBefore`. */
export function olderUrl(args: ChangeArgs, nextBefore: number): string {
  return changesUrl({ ...args, before: nextBefore });
}

/** The newest page with the same filters. */
export function newestUrl(args: ChangeArgs): string {
  return changesUrl({ ...args, before: undefined });
}

/** The list's filters narrowed to one more value (a link from a row's author or branch). */
export function filterUrl(args: ChangeArgs, key: 'author' | 'branch', value: string): string {
  return changesUrl({ ...args, before: undefined, [key]: [value] });
}

/** Whether a change passes the filters, as the API decides (`trunk` is the default branch). */
export function changeMatches(c: Change, args: ChangeArgs): boolean {
  const any = (list: string[], v: string) => list.length === 0 || list.includes(v);
  return (
    any(args.author, c.author) &&
    branchMatches(args.branch, c.branch) &&
    any(args.repository, c.repository) &&
    any(args.project, c.project)
  );
}

/**
 * A change arriving live goes on top of the newest page when it passes the filters. The
 * page keeps its size (with some slack so that the bottom does not flicker): the oldest rows
 * go, and the "older" link then starts below the last row still shown.
 */
export function applyChangeEvent(page: ChangeList, ev: ServerEvent, args: ChangeArgs): ChangeList {
  if (args.before != null || ev.type !== 'change.new' || !ev.change) return page;
  const c = ev.change;
  if (!changeMatches(c, args) || page.changes.some((x) => x.id === c.id)) return page;
  const changes = [c, ...page.changes].sort((a, b) => b.id - a.id);
  const slack = Math.max(10, Math.ceil(args.limit / 10));
  if (changes.length <= args.limit + slack) return { ...page, changes };
  const kept = changes.slice(0, args.limit);
  return { changes: kept, next_before: kept[kept.length - 1].id };
}

/** A build as the change page last saw it: a running copy never replaces a finished one. */
function newer(old: Build, next: Build): Build {
  return old.complete && !next.complete ? old : next;
}

/**
 * A change's builds, newest first, kept current by the stream: a build that starts with the
 * change in its blamelist joins the list, and every event carrying a listed build (its
 * steps' events too) updates its state.
 */
export function applyChangeBuildEvent(builds: Build[], ev: ServerEvent, changeId: number): Build[] {
  const b = ev.build;
  if (!b) return builds;
  const i = builds.findIndex((x) => x.id === b.id);
  if (i >= 0) {
    const next = newer(builds[i], b);
    if (next === builds[i]) return builds;
    const copy = builds.slice();
    copy[i] = next;
    return copy;
  }
  if (!ev.type.startsWith('build.') || !(ev.change_ids ?? []).includes(changeId)) return builds;
  return [b, ...builds].sort((x, y) => y.id - x.id);
}
