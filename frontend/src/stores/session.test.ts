import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Client from '~/api/client';
import type { Session } from '~/api/types';
import type * as Store from './session';

type SessionModule = typeof Store;
type ClientModule = typeof Client;

const ANONYMOUS: Session = {
  roles: [],
  actions: { view: true, force_build: false },
  password_login: true,
};
const ADMIN: Session = {
  username: 'admin',
  user: { uid: 1, identifier: 'admin', username: 'admin', attributes: [] },
  roles: ['admins'],
  actions: { view: true, force_build: true },
  csrf_token: 'tok-1',
  password_login: true,
};

/** A fake server: answers by `METHOD path`, records every request. */
function server(routes: Record<string, () => [number, unknown]>) {
  return vi.fn(async (url: string, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${url}`;
    const route = routes[key];
    const [status, body] = route ? route() : [404, { error: 'not_found', message: key }];
    return new Response(JSON.stringify(body), { status });
  });
}

describe('session store', () => {
  let session: SessionModule;
  let client: ClientModule;
  beforeEach(async () => {
    vi.resetModules();
    session = await import('./session');
    client = await import('~/api/client');
  });
  afterEach(() => vi.unstubAllGlobals());

  it('allows an action only when the session says so', () => {
    expect(session.can(null, 'view')).toBe(false);
    expect(session.can(ANONYMOUS, 'view')).toBe(true);
    expect(session.can(ANONYMOUS, 'force_build')).toBe(false);
    expect(session.can(ANONYMOUS, 'stop_build')).toBe(false);
    expect(session.can(ADMIN, 'force_build')).toBe(true);
  });

  it('knows where "Log in" leads', () => {
    expect(session.loginHref(null, '/waterfall')).toBeNull();
    expect(session.loginHref(ANONYMOUS, '/waterfall?builder=a b')).toBe(
      '/login?next=%2Fwaterfall%3Fbuilder%3Da%20b',
    );
    expect(session.loginHref(ANONYMOUS, '/')).toBe('/login');
    expect(session.loginHref({ ...ANONYMOUS, login_url: '/sso' }, '/x')).toBe('/sso');
    expect(session.loginHref({ ...ANONYMOUS, password_login: false }, '/x')).toBeNull();
  });

  it('logs in, sends the CSRF token, and logs out', async () => {
    let current = ANONYMOUS;
    const fetch = server({
      'GET /api/v1/session': () => [200, current],
      'POST /api/v1/login': () => [200, (current = ADMIN)],
      'POST /api/v1/logout': () => {
        current = ANONYMOUS;
        return [200, { message: 'logged out' }];
      },
      'POST /api/v1/builders/q/force': () => [202, { buildset_id: 1, buildrequest_ids: [1] }],
    });
    vi.stubGlobal('fetch', fetch);

    await session.refreshSession();
    expect(session.getSession()).toEqual({ session: ANONYMOUS, loaded: true });
    await session.logIn('admin', 'secret');
    expect(session.getSession().session?.user?.username).toBe('admin');

    await client.apiPost('/builders/{name}/force', { reason: 'r' }, { params: { name: 'q' } });
    const [, init] = fetch.mock.calls.at(-1) as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok-1');

    await session.logOut();
    const logout = fetch.mock.calls.find(([u]) => u === '/api/v1/logout') as unknown as [
      string,
      RequestInit,
    ];
    expect((logout[1].headers as Record<string, string>)['X-CSRF-Token']).toBe('tok-1');
    expect(session.getSession().session).toEqual(ANONYMOUS);
    expect(fetch.mock.calls.at(-1)?.[0]).toBe('/api/v1/session');
  });

  it('fetches the session again when an API call answers 401', async () => {
    let current = ADMIN;
    const fetch = server({
      'GET /api/v1/session': () => [200, current],
      'GET /api/v1/users': () => [401, { error: 'unauthorized', message: 'log in' }],
    });
    vi.stubGlobal('fetch', fetch);
    await session.refreshSession();
    current = ANONYMOUS; // the cookie expired
    await expect(client.apiGet('/users')).rejects.toThrow('log in');
    await vi.waitFor(() => expect(session.getSession().session).toEqual(ANONYMOUS));
    expect(fetch.mock.calls.filter(([u]) => u === '/api/v1/session')).toHaveLength(2);
  });

  it('deduplicates concurrent refreshes and keeps the last session on failure', async () => {
    let fail = false;
    const fetch = server({
      'GET /api/v1/session': () => (fail ? [500, { error: 'x', message: 'down' }] : [200, ADMIN]),
    });
    vi.stubGlobal('fetch', fetch);
    await Promise.all([session.refreshSession(), session.refreshSession()]);
    expect(fetch).toHaveBeenCalledTimes(1);
    fail = true;
    await session.refreshSession();
    expect(session.getSession()).toEqual({ session: ADMIN, loaded: true });
  });
});
