import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session } from '~/api/types';
import { getSession, setSession } from '~/stores/session';
import Login from './Login';

const ANONYMOUS: Session = { roles: [], actions: { view: true }, password_login: true };
const ADMIN: Session = {
  ...ANONYMOUS,
  username: 'admin',
  user: { uid: 1, identifier: 'admin', username: 'admin', attributes: [] },
  csrf_token: 'tok',
};

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status }));
}

describe('Login', () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement('div');
    document.body.append(root);
    history.replaceState(null, '', '/login?next=/waterfall');
    setSession(ANONYMOUS);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  async function show(next = '/waterfall') {
    const query = new URLSearchParams({ next });
    await act(() => render(<Login params={{}} query={query} path="/login" />, root));
  }

  async function submit(username: string, password: string) {
    for (const [name, value] of [
      ['username', username],
      ['password', password],
    ]) {
      const input = root.querySelector<HTMLInputElement>(`input[name=${name}]`)!;
      await act(() => {
        input.value = value;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
    }
    await act(async () => {
      root.querySelector('form')!.dispatchEvent(new Event('submit', { cancelable: true }));
      await new Promise((r) => setTimeout(r, 0));
    });
  }

  it('labels its fields', async () => {
    await show();
    const labels = [...root.querySelectorAll('label')].map((l) => l.textContent);
    expect(labels).toEqual(['Username', 'Password']);
    expect(root.querySelector('button[type=submit]')?.textContent).toBe('Log in');
  });

  it("shows the server's message when the login fails", async () => {
    vi.stubGlobal('fetch', answer(401, { error: 'unauthorized', message: 'Wrong password' }));
    await show();
    await submit('admin', 'nope');
    expect(root.querySelector('[role=alert]')?.textContent).toBe('Wrong password');
    expect(location.pathname).toBe('/login');
  });

  it('logs in and goes on to next', async () => {
    const fetch = answer(200, ADMIN);
    vi.stubGlobal('fetch', fetch);
    await show('/builders/q/builds/1');
    await submit('admin', 'secret');
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/login');
    expect(JSON.parse(init.body as string)).toEqual({ username: 'admin', password: 'secret' });
    expect(getSession().session).toEqual(ADMIN);
    expect(location.pathname).toBe('/builders/q/builds/1');
  });

  it('ignores a next that leaves the site', async () => {
    vi.stubGlobal('fetch', answer(200, ADMIN));
    await show('//evil.example/');
    await submit('admin', 'secret');
    expect(location.pathname).toBe('/');
  });

  it('points to the single sign-on page when there is no password login', async () => {
    setSession({ ...ANONYMOUS, password_login: false, login_url: 'https://sso.example/' });
    await show();
    expect(root.querySelector('form')).toBeNull();
    expect(root.querySelector('a')?.getAttribute('href')).toBe('https://sso.example/');
  });
});
