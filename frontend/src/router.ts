// History routing: the route table (0.8.9's URL space), URL matching, and navigation.
import { useEffect, useState } from 'preact/hooks';

export type RouteName =
  | 'home'
  | 'waterfall'
  | 'grid'
  | 'console'
  | 'builders'
  | 'builder'
  | 'build'
  | 'step'
  | 'log'
  | 'login'
  | 'users'
  | 'user'
  | 'hooks'
  | 'hook'
  | 'outbox'
  | 'workers'
  | 'worker'
  | 'about'
  | 'changes'
  | 'change'
  | 'oneLinePerBuild'
  | 'buildStatus'
  | 'redirect'
  | 'notFound';

export interface Match {
  name: RouteName;
  params: Record<string, string>;
}

const ROUTES: [string, RouteName][] = [
  ['/', 'home'],
  ['/waterfall', 'waterfall'],
  ['/grid', 'grid'],
  ['/tgrid', 'grid'],
  ['/console', 'console'],
  ['/builders', 'builders'],
  ['/builders/:builder', 'builder'],
  ['/builders/:builder/builds/:number', 'build'],
  ['/builders/:builder/builds/:number/steps/:step', 'step'],
  ['/builders/:builder/builds/:number/steps/:step/logs/:log', 'log'],
  ['/login', 'login'],
  ['/users', 'users'],
  ['/users/:uid', 'user'],
  ['/hooks', 'hooks'],
  ['/hooks/:id', 'hook'],
  ['/outbox', 'outbox'],
  ['/workers', 'workers'],
  ['/workers/:name', 'worker'],
  ['/about', 'about'],
  ['/changes', 'changes'],
  ['/changes/:id', 'change'],
  ['/one_line_per_build', 'oneLinePerBuild'],
  ['/buildstatus', 'buildStatus'],
];

/** Old URLs that now live elsewhere: the route `redirect` carries the new path in `to`. */
const REDIRECTS: [string, (p: Record<string, string>) => string][] = [
  ['/users/table', () => '/users'],
  ['/users/table/:uid', (p) => `/users/${encodeURIComponent(p.uid)}`],
  // 0.8.9 called workers buildslaves.
  ['/buildslaves', () => '/workers'],
  ['/buildslaves/:name', (p) => `/workers/${encodeURIComponent(p.name)}`],
];

/** Paths served by the server itself, never by the SPA. */
const SERVER_PREFIXES = [
  '/api/',
  '/change_hook',
  '/rss',
  '/atom',
  '/png',
  '/badges/',
  '/plots/',
  '/json',
  '/robots.txt',
];

function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '*') return s.length >= i ? params : null;
    if (i >= s.length) return null;
    if (p[i].startsWith(':')) {
      try {
        params[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) return null;
  }
  return p.length === s.length ? params : null;
}

export function matchRoute(path: string): Match {
  for (const [pattern, target] of REDIRECTS) {
    const params = matchPattern(pattern, path);
    if (params) return { name: 'redirect', params: { to: target(params) } };
  }
  for (const [pattern, name] of ROUTES) {
    const params = matchPattern(pattern, path);
    if (params) return { name, params };
  }
  return { name: 'notFound', params: {} };
}

export function isServerPath(path: string): boolean {
  return SERVER_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));
}

const listeners = new Set<() => void>();

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    // The URL may have changed before this effect ran (a redirect on the first render).
    const now = current();
    if (now.path !== loc.path || now.query.toString() !== loc.query.toString()) update();
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return loc;
}

/** Turn clicks on same-origin SPA links into history navigation. */
export function interceptLinks(root: HTMLElement): () => void {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || !a.href || a.target || a.hasAttribute('download') || a.dataset.native != null) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || isServerPath(url.pathname)) return;
    e.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search)
      navigate(url.pathname + url.search + url.hash);
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}

/** Path helpers so links are built in one place. */
export const paths = {
  build: (builder: string, number: number) =>
    `/builders/${encodeURIComponent(builder)}/builds/${number}`,
  step: (builder: string, number: number, step: number | string) =>
    `${paths.build(builder, number)}/steps/${encodeURIComponent(step)}`,
  log: (builder: string, number: number, step: number | string, log: string) =>
    `${paths.step(builder, number, step)}/logs/${encodeURIComponent(log)}`,
  builder: (builder: string) => `/builders/${encodeURIComponent(builder)}`,
  user: (uid: number) => `/users/${uid}`,
  worker: (name: string) => `/workers/${encodeURIComponent(name)}`,
  change: (id: number) => `/changes/${id}`,
  /** The delivery log, filtered by dialect and paged by offset (empty ones left out). */
  hooks: (dialect = '', offset = 0) => {
    const q = new URLSearchParams();
    if (dialect) q.set('dialect', dialect);
    if (offset > 0) q.set('offset', String(offset));
    const s = q.toString();
    return s ? `/hooks?${s}` : '/hooks';
  },
  hook: (id: number) => `/hooks/${id}`,
  /** The outbox, filtered by state (all when empty). */
  outbox: (state = '') => (state ? `/outbox?state=${encodeURIComponent(state)}` : '/outbox'),
};

/** A `next=` argument made safe: a path on this site, else `/`. */
export function safeNext(next: string | null): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/';
}
