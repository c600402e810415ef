import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiDelete, apiGet, apiPatch, apiPost, setAuthHooks } from './client';

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status }));
}

function headersOf(fetch: ReturnType<typeof answer>, call = 0): Record<string, string> {
  const [, init] = fetch.mock.calls[call] as unknown as [string, RequestInit];
  return init.headers as Record<string, string>;
}

describe('client', () => {
  const onStaleSession = vi.fn();
  afterEach(() => {
    vi.unstubAllGlobals();
    onStaleSession.mockReset();
    setAuthHooks({ csrfToken: () => null, onStaleSession: () => undefined });
  });

  it('sends the CSRF token with every request but GET', async () => {
    setAuthHooks({ csrfToken: () => 'tok', onStaleSession });
    const fetch = answer(200, { message: 'ok' });
    vi.stubGlobal('fetch', fetch);
    await apiGet('/builders');
    await apiPost('/logout', undefined);
    await apiPatch('/users/{uid}', { username: 'x' }, { params: { uid: 1 } });
    await apiDelete('/users/{uid}', { params: { uid: 1 } });
    expect(headersOf(fetch, 0)['X-CSRF-Token']).toBeUndefined();
    for (const i of [1, 2, 3]) expect(headersOf(fetch, i)['X-CSRF-Token']).toBe('tok');
    const [url, init] = fetch.mock.calls[2] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/users/1');
    expect(init.method).toBe('PATCH');
    expect(headersOf(fetch, 2)['Content-Type']).toBe('application/json');
  });

  it('sends no CSRF header without a token', async () => {
    const fetch = answer(200, { message: 'ok' });
    vi.stubGlobal('fetch', fetch);
    await apiPost('/logout', undefined);
    expect(headersOf(fetch)).not.toHaveProperty('X-CSRF-Token');
  });

  it('turns error bodies into ApiError', async () => {
    vi.stubGlobal('fetch', answer(429, { error: 'rate_limited', message: 'retry in 30 s' }));
    const err = await apiPost('/login', { username: 'a', password: 'b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', message: 'retry in 30 s' });
  });

  it('reports a stale session on 401 and on a CSRF 403', async () => {
    setAuthHooks({ csrfToken: () => null, onStaleSession });
    vi.stubGlobal('fetch', answer(401, { error: 'unauthorized', message: 'log in' }));
    await expect(apiGet('/users')).rejects.toThrow('log in');
    expect(onStaleSession).toHaveBeenCalledTimes(1);
    vi.stubGlobal('fetch', answer(403, { error: 'csrf', message: 'bad token' }));
    await expect(apiPost('/logout', undefined)).rejects.toThrow('bad token');
    expect(onStaleSession).toHaveBeenCalledTimes(2);
  });

  it('does not report a stale session for other errors or a wrong password', async () => {
    setAuthHooks({ csrfToken: () => null, onStaleSession });
    vi.stubGlobal('fetch', answer(403, { error: 'forbidden', message: 'no' }));
    await expect(apiGet('/users')).rejects.toThrow('no');
    vi.stubGlobal('fetch', answer(401, { error: 'unauthorized', message: 'wrong password' }));
    await expect(apiPost('/login', { username: 'a', password: 'b' })).rejects.toThrow(
      'wrong password',
    );
    await expect(apiGet('/session')).rejects.toThrow();
    expect(onStaleSession).not.toHaveBeenCalled();
  });
});
