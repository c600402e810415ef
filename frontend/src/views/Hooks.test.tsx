import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Delivery, Session } from '~/api/types';
import { setSession } from '~/stores/session';
import HookDelivery from './HookDelivery';
import Hooks, { PAGE } from './Hooks';

const ANONYMOUS: Session = { roles: [], actions: { view: true }, password_login: true };
const ADMIN: Session = {
  ...ANONYMOUS,
  username: 'admin',
  csrf_token: 'tok',
  actions: { view: true, hook_deliveries: true },
};

const delivery = (id: number, more: Partial<Delivery> = {}): Delivery => ({
  id,
  dialect: 'base',
  received_at: '2024-05-01T10:00:00Z',
  source_addr: '127.0.0.1',
  status: 202,
  outcome: 'ok',
  change_ids: [],
  headers: { 'content-type': 'application/json' },
  content_type: 'application/json',
  body_truncated: false,
  ...more,
});

/** A fetch stub answering `answer(url, init)` as JSON with its status. */
function stubFetch(answer: (url: string, init?: RequestInit) => [number, unknown]) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const [status, body] = answer(url, init);
    return new Response(JSON.stringify(body), { status });
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

describe('hook delivery views', () => {
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

  it('lists a page of one dialect and links the older ones', async () => {
    setSession(ADMIN);
    const page = Array.from({ length: PAGE }, (_, i) => delivery(200 - i));
    const fetch = stubFetch(() => [200, { deliveries: page }]);
    const query = new URLSearchParams('dialect=base&offset=50');
    await act(() => render(<Hooks params={{}} query={query} path="/hooks" />, root));
    await vi.waitFor(() => expect(root.querySelectorAll('tbody tr')).toHaveLength(PAGE));
    expect(fetch.mock.calls[0][0]).toBe(
      `/api/v1/hooks/deliveries?dialect=base&limit=${PAGE}&offset=50`,
    );
    const links = [...root.querySelectorAll('.pager a')].map((a) => a.getAttribute('href'));
    expect(links).toEqual(['/hooks?dialect=base', '/hooks?dialect=base&offset=100']);
    expect(root.querySelector<HTMLInputElement>('input[name=dialect]')?.value).toBe('base');
  });

  it('asks anonymous users to log in', async () => {
    setSession(ANONYMOUS);
    stubFetch((url) =>
      url.endsWith('/session')
        ? [200, ANONYMOUS]
        : [401, { error: 'unauthorized', message: 'log in first' }],
    );
    await act(() =>
      render(<Hooks params={{}} query={new URLSearchParams()} path="/hooks" />, root),
    );
    await vi.waitFor(() =>
      expect(root.querySelector('h1')?.textContent).toBe(
        'You need to log in to see hook deliveries',
      ),
    );
  });

  it('shows a delivery and replays it', async () => {
    setSession(ADMIN);
    history.replaceState(null, '', '/hooks/4');
    const fetch = stubFetch((_url, init) =>
      init?.method === 'POST'
        ? [200, delivery(5, { replay_of: 4 })]
        : [200, delivery(4, { body: '{"a":1}', headers: { 'x-b': 'b', 'x-a': 'a' } })],
    );
    await act(() =>
      render(
        <HookDelivery params={{ id: '4' }} query={new URLSearchParams()} path="/hooks/4" />,
        root,
      ),
    );
    await vi.waitFor(() => expect(root.querySelector('h1')?.textContent).toBe('Hook delivery #4'));
    expect(root.querySelector('pre')?.textContent).toBe('{\n  "a": 1\n}');
    const headers = [...root.querySelectorAll('table.headers th')].map((th) => th.textContent);
    expect(headers).toEqual(['x-a', 'x-b']);

    const button = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Replay')!;
    await act(async () => {
      button.click();
    });
    await vi.waitFor(() => expect(location.pathname).toBe('/hooks/5'));
    const [url, init] = fetch.mock.calls.at(-1)!;
    expect(url).toBe('/api/v1/hooks/deliveries/4/replay');
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok');
  });

  it('offers no replay of a truncated body, nor to those not allowed', async () => {
    for (const [session, truncated] of [
      [ADMIN, true],
      [{ ...ADMIN, actions: { view: true } }, false],
    ] as const) {
      setSession(session);
      stubFetch(() => [200, delivery(4, { body: 'x', body_truncated: truncated })]);
      await act(() =>
        render(
          <HookDelivery params={{ id: '4' }} query={new URLSearchParams()} path="/hooks/4" />,
          root,
        ),
      );
      await vi.waitFor(() => expect(root.querySelector('pre')?.textContent).toBe('x'));
      expect(root.querySelector('button')).toBeNull();
      render(null, root);
    }
  });
});
