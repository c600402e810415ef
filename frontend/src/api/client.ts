// A small typed fetch client. Response types come from the generated `paths`.
import type { paths } from './schema';

type Method = 'get' | 'post' | 'patch' | 'delete';
type Success<R> = R extends { 200: { content: infer C } }
  ? C[keyof C]
  : R extends { 202: { content: infer C } }
    ? C[keyof C]
    : R extends { 201: { content: infer C } }
      ? C[keyof C]
      : never;
type Op<P extends keyof paths, M extends Method> = paths[P][M] extends { responses: infer R }
  ? R
  : never;
type Content<O> = O extends { requestBody?: { content: infer C } } ? C[keyof C] : never;
/** The JSON body of `M P`; `undefined` when the operation takes none. */
type Body<P extends keyof paths, M extends Method> = [Content<paths[P][M]>] extends [never]
  ? undefined
  : Content<paths[P][M]>;

/** The JSON body of a successful answer to `M P`. */
export type ApiResponse<P extends keyof paths, M extends Method = 'get'> = Success<Op<P, M>>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The spec's `servers` entry: every path of `paths` lives under it. */
export const API_BASE = '/api/v1';

type Scalar = string | number | boolean | null | undefined;
type Query = Record<string, Scalar | readonly string[]>;

/** Fill `{name}` placeholders (URL-encoded) and append the query. */
export function buildUrl(
  path: string,
  params: Record<string, Scalar> = {},
  query: Query = {},
): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = params[k];
    if (v == null) throw new Error(`missing path parameter ${k}`);
    return encodeURIComponent(String(v));
  });
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const item of v) qs.append(k, item);
    else if (v != null && v !== '') qs.append(k, String(v));
  }
  const s = qs.toString();
  return s ? `${filled}?${s}` : filled;
}

async function parseError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: unknown; message?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(res.status, code, message);
}

/** What the client needs from the session store (set by it, so the two modules stay apart). */
export interface AuthHooks {
  /** The session's CSRF token, sent with every request that is not a GET. */
  csrfToken: () => string | null;
  /** Called when an answer says the session is gone or stale (401, or 403 `csrf`). */
  onStaleSession: () => void;
}

let auth: AuthHooks = { csrfToken: () => null, onStaleSession: () => undefined };

export function setAuthHooks(hooks: AuthHooks): void {
  auth = hooks;
}

/** Paths whose 401 says nothing about a stale session (a wrong password, the session itself). */
const SESSION_PATHS = [`${API_BASE}/session`, `${API_BASE}/login`];

function isStale(err: ApiError, url: string): boolean {
  if (err.status === 403) return err.code === 'csrf';
  return err.status === 401 && !SESSION_PATHS.includes(url.split('?')[0]);
}

async function request<T>(url: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...(init.headers as Record<string, string> | undefined),
  };
  const token = auth.csrfToken();
  if (token && init.method && init.method !== 'GET') headers['X-CSRF-Token'] = token;
  const res = await fetch(url, { credentials: 'same-origin', ...init, headers });
  if (!res.ok) {
    const err = await parseError(res);
    if (isStale(err, url)) auth.onStaleSession();
    throw err;
  }
  return (await res.json()) as T;
}

export interface Options {
  params?: Record<string, Scalar>;
  query?: Query;
  signal?: AbortSignal;
}

export function apiGet<P extends keyof paths>(
  path: P,
  opts: Options = {},
): Promise<ApiResponse<P, 'get'>> {
  return request(API_BASE + buildUrl(path, opts.params, opts.query), { signal: opts.signal });
}

function send<P extends keyof paths, M extends 'post' | 'patch'>(
  method: M,
  path: P,
  body: Body<P, M>,
  opts: Options,
): Promise<ApiResponse<P, M>> {
  return request(API_BASE + buildUrl(path, opts.params, opts.query), {
    method: method.toUpperCase(),
    body: JSON.stringify(body ?? {}),
    headers: { 'Content-Type': 'application/json' },
    signal: opts.signal,
  });
}

export function apiPost<P extends keyof paths>(
  path: P,
  body: Body<P, 'post'>,
  opts: Options = {},
): Promise<ApiResponse<P, 'post'>> {
  return send('post', path, body, opts);
}

export function apiPatch<P extends keyof paths>(
  path: P,
  body: Body<P, 'patch'>,
  opts: Options = {},
): Promise<ApiResponse<P, 'patch'>> {
  return send('patch', path, body, opts);
}

export function apiDelete<P extends keyof paths>(
  path: P,
  opts: Options = {},
): Promise<ApiResponse<P, 'delete'>> {
  return request(API_BASE + buildUrl(path, opts.params, opts.query), {
    method: 'DELETE',
    signal: opts.signal,
  });
}
