import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session } from '~/api/types';
import { getSession, setSession } from '~/stores/session';
import { SessionControl } from './SessionControl';

const ANONYMOUS: Session = { roles: [], actions: { view: true }, password_login: true };
const ADMIN: Session = {
  ...ANONYMOUS,
  username: 'admin',
  user: { uid: 1, identifier: 'admin', username: 'admin', attributes: [] },
  csrf_token: 'tok',
  actions: { view: true, force_build: true },
};

describe('SessionControl', () => {
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

  it('offers "Log in" to anonymous users, back to the current page', async () => {
    setSession(ANONYMOUS);
    await act(() => render(<SessionControl here="/waterfall?category=a" />, root));
    const a = root.querySelector('a')!;
    expect(a.textContent).toBe('Log in');
    expect(a.getAttribute('href')).toBe('/login?next=%2Fwaterfall%3Fcategory%3Da');
    expect(a.dataset.native).toBeUndefined();
  });

  it('sends anonymous users to the single sign-on page when there is one', async () => {
    setSession({ ...ANONYMOUS, login_url: '/sso/login', password_login: false });
    await act(() => render(<SessionControl here="/waterfall" />, root));
    const a = root.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('/sso/login');
    expect(a.dataset.native).toBe('');
  });

  it('shows nothing when nobody can log in', async () => {
    setSession({ ...ANONYMOUS, password_login: false });
    await act(() => render(<SessionControl here="/" />, root));
    expect(root.innerHTML).toBe('');
  });

  it('names a user from the config file, who has no user page', async () => {
    setSession({ ...ANONYMOUS, username: 'ops', csrf_token: 'tok' });
    await act(() => render(<SessionControl here="/" />, root));
    expect(root.querySelector('a')).toBeNull();
    expect(root.querySelector('.session-user')?.textContent).toBe('ops');
    expect(root.querySelector('button')?.textContent).toBe('Log out');
  });

  it('shows the user and logs out', async () => {
    setSession(ADMIN);
    const fetch = vi.fn(async (url: string) =>
      url.endsWith('/logout')
        ? new Response(JSON.stringify({ message: 'bye' }))
        : new Response(JSON.stringify(ANONYMOUS)),
    );
    vi.stubGlobal('fetch', fetch);
    await act(() => render(<SessionControl here="/waterfall" />, root));
    expect(root.querySelector('a')?.textContent).toBe('admin');
    expect(root.querySelector('a')?.getAttribute('href')).toBe('/users/1');
    const button = root.querySelector('button')!;
    expect(button.textContent).toBe('Log out');
    await act(async () => {
      button.click();
      await vi.waitFor(() => expect(getSession().session).toEqual(ANONYMOUS));
    });
    expect(fetch.mock.calls.map(([u]) => u)).toEqual(['/api/v1/logout', '/api/v1/session']);
    expect(root.querySelector('a')?.textContent).toBe('Log in');
  });
});
