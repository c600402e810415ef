// `/one_line_per_build` as data: its arguments (0.8.9's, plus `property.NAME=VALUE`), the
// API query they make, and the pure reducer that keeps the newest builds current live.
import type { Build, OneLinePerBuild } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import { listArg, numberArg, propertyArgs } from './query';

const PROPERTY = 'property.';

export interface OneLineArgs {
  builder: string[];
  branch: string[];
  /** How many builds; absent means the server's `[web] num_builds`. */
  numbuilds?: number;
  /** `property.NAME=VALUE` arguments as [NAME, VALUE], in URL order. */
  properties: [string, string][];
}

export function oneLineArgs(query: URLSearchParams): OneLineArgs {
  const n = numberArg(query, 'numbuilds');
  return {
    builder: listArg(query, 'builder'),
    branch: listArg(query, 'branch'),
    numbuilds: n != null && n >= 1 ? Math.min(1000, Math.floor(n)) : undefined,
    properties: propertyArgs(query),
  };
}

/** The names of the page's `property.NAME` arguments, which its filter form keeps as they are. */
export function propertyKeys(query: URLSearchParams): string[] {
  return [...new Set([...query.keys()].filter((k) => k.startsWith(PROPERTY)))];
}

/** The query of `GET /views/one_line_per_build` for these arguments. */
export function oneLineQuery(args: OneLineArgs): Record<string, string | number | string[]> {
  const q: Record<string, string | number | string[]> = {
    builder: args.builder,
    branch: args.branch,
  };
  if (args.numbuilds != null) q.numbuilds = args.numbuilds;
  for (const [name, value] of args.properties) {
    const key = PROPERTY + name;
    const prev = q[key];
    // Repeated, a property must have each value: the API ANDs them, so keep them all.
    q[key] = prev == null ? [value] : [...(prev as string[]), value];
  }
  return q;
}

/** A property's value as text, the way the server compares it (`7`, `true`, `main`). */
export function propertyText(v: unknown): string | null {
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Whether a build belongs on the page (the server's filters, for builds arriving live). */
export function buildMatches(b: Build, args: OneLineArgs): boolean {
  if (args.builder.length > 0 && !args.builder.includes(b.builder)) return false;
  if (args.branch.length > 0 && (b.branch == null || !args.branch.includes(b.branch))) return false;
  const props = (b.properties ?? {}) as Record<string, unknown>;
  return args.properties.every(([name, value]) => propertyText(props[name]) === value);
}

/**
 * Builds starting elsewhere go on top when they pass the filters; events about a build on
 * the page update it (a running copy never replaces a finished one). The page keeps the
 * newest `numbuilds`, newest first as the server orders them.
 */
export function applyOneLineEvent(
  page: OneLinePerBuild,
  ev: ServerEvent,
  args: OneLineArgs,
): OneLinePerBuild {
  const b = ev.build;
  if (!b) return page;
  const i = page.builds.findIndex((x) => x.id === b.id);
  if (i >= 0) {
    const old = page.builds[i];
    if (old.complete && !b.complete) return page;
    const builds = page.builds.slice();
    builds[i] = b;
    return { ...page, builds };
  }
  if (!ev.type.startsWith('build.') || !buildMatches(b, args)) return page;
  const builds = [b, ...page.builds].sort((x, y) => y.id - x.id).slice(0, page.numbuilds);
  return builds.includes(b) ? { ...page, builds } : page;
}

/** The page's URL without one of its `property.NAME=VALUE` filters. */
export function withoutProperty(query: URLSearchParams, name: string, value: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of query) if (!(k === PROPERTY + name && v === value)) q.append(k, v);
  const s = q.toString();
  return s ? `/one_line_per_build?${s}` : '/one_line_per_build';
}
