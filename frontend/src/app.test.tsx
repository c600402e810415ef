import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from './app';

describe('App', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('replaces the old users table URL and shows the user', async () => {
    const anonymous = { roles: [], actions: { view: true }, password_login: true };
    const user = { uid: 3, identifier: 'ada', username: 'ada', attributes: [] };
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async (url: string) =>
          new Response(JSON.stringify(url.endsWith('/session') ? anonymous : user)),
      ),
    );
    history.replaceState(null, '', '/users/table/3?x=1');
    const root = document.createElement('div');
    document.body.append(root);
    await act(() => render(<App />, root));
    await vi.waitFor(() => expect(root.querySelector('h1')?.textContent).toBe('ada'));
    expect(location.pathname + location.search).toBe('/users/3?x=1');
    expect(history.length).toBe(1);
    render(null, root);
    root.remove();
  });
});
