import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session, User } from '~/api/types';
import { setSession } from '~/stores/session';
import Users from './Users';

const ANN: User = { uid: 1, identifier: 'ann', username: 'ann', attributes: [] };
const BOB: User = { uid: 2, identifier: 'bob', username: 'bob', attributes: [] };

function session(username: string, uid: number, manage: boolean): Session {
  return {
    username,
    user: { uid, identifier: username, username, attributes: [] },
    roles: [],
    csrf_token: 'tok',
    password_login: true,
    actions: { view: true, show_users_page: true, manage_users: manage },
  };
}

function stubFetch(answer: (url: string, init?: RequestInit) => [number, unknown]) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const [status, body] = answer(url, init);
    return new Response(JSON.stringify(body), { status });
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

const buttonsIn = (root: HTMLElement) =>
  [...root.querySelectorAll<HTMLElement>('tbody tr')].map(
    (row) => row.querySelector('[data-action=logout-everywhere] button') !== null,
  );

describe('users view', () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement('div');
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  it('offers a user "log out everywhere" on their own row only', async () => {
    setSession(session('bob', 2, false));
    stubFetch(() => [200, { users: [ANN, BOB] }]);
    await act(() =>
      render(<Users params={{}} query={new URLSearchParams()} path="/users" />, root),
    );
    await vi.waitFor(() => expect(root.querySelectorAll('tbody tr')).toHaveLength(2));
    expect(buttonsIn(root)).toEqual([false, true]);
  });

  it('offers a user manager every row, and posts with the CSRF token', async () => {
    setSession(session('ann', 1, true));
    const fetch = stubFetch((_url, init) =>
      init?.method === 'POST'
        ? [200, { message: 'ended 3 session(s) of bob', count: 3 }]
        : [200, { users: [ANN, BOB] }],
    );
    await act(() =>
      render(<Users params={{}} query={new URLSearchParams()} path="/users" />, root),
    );
    await vi.waitFor(() => expect(root.querySelectorAll('tbody tr')).toHaveLength(2));
    expect(buttonsIn(root)).toEqual([true, true]);

    const bobRow = root.querySelector<HTMLElement>('tbody tr[data-uid="2"]')!;
    await act(() =>
      bobRow.querySelector<HTMLButtonElement>('[data-action=logout-everywhere] button')?.click(),
    );
    await vi.waitFor(() =>
      expect(bobRow.querySelector('[role=status]')?.textContent).toBe('ended 3 session(s) of bob'),
    );
    const post = fetch.mock.calls.find(([, init]) => init?.method === 'POST')!;
    expect(post[0]).toBe('/api/v1/users/2/logout');
    expect((post[1]?.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok');
  });
});
