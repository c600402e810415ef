import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OutboxMessage, Session } from '~/api/types';
import { setSession } from '~/stores/session';
import Outbox, { PAGE } from './Outbox';

const ANONYMOUS: Session = { roles: [], actions: { view: true }, password_login: true };
const ADMIN: Session = {
  ...ANONYMOUS,
  username: 'admin',
  csrf_token: 'tok',
  actions: { view: true, manage_outbox: true },
};

const message = (id: number, more: Partial<OutboxMessage> = {}): OutboxMessage => ({
  id,
  reporter: 'mail',
  key: `k${id}`,
  state: 'pending',
  payload: {},
  created_at: '2024-05-01T10:00:00Z',
  attempts: 0,
  next_attempt_at: '2024-05-01T10:00:00Z',
  ...more,
});

function stubFetch(answer: (url: string, init?: RequestInit) => [number, unknown]) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const [status, body] = answer(url, init);
    return new Response(JSON.stringify(body), { status });
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

describe('outbox view', () => {
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

  it('lists failed messages with their error and retries and drops one', async () => {
    setSession(ADMIN);
    const failed = message(2, {
      state: 'failed',
      attempts: 3,
      last_error: '550 no such user',
      payload: { build: 7, builder: 'compile', number: 12, results: 'failure' },
    });
    const fetch = stubFetch((_url, init) =>
      init?.method === 'POST'
        ? [200, { ...failed, state: 'pending' }]
        : init?.method === 'DELETE'
          ? [200, { message: 'dropped outbox message 2' }]
          : [200, { messages: [failed] }],
    );
    const query = new URLSearchParams('state=failed');
    await act(() => render(<Outbox params={{}} query={query} path="/outbox" />, root));
    await vi.waitFor(() => expect(root.querySelectorAll('tbody tr')).toHaveLength(1));
    expect(fetch.mock.calls[0][0]).toBe(`/api/v1/outbox?state=failed&limit=${PAGE}`);
    expect(root.querySelector('tbody')?.textContent).toContain('550 no such user');
    const about = root.querySelector('.outbox-about');
    expect(about?.textContent).toBe('compile #12 (failure)');
    expect(about?.querySelector('a')?.getAttribute('href')).toBe('/builders/compile/builds/12');
    expect(root.querySelector('.filter a.active')?.textContent).toBe('failed');

    await act(() => root.querySelector<HTMLButtonElement>('[data-action=retry] button')?.click());
    await vi.waitFor(() =>
      expect(
        fetch.mock.calls.some(
          ([url, init]) => init?.method === 'POST' && url === '/api/v1/outbox/2/retry',
        ),
      ).toBe(true),
    );
    await act(() => root.querySelector<HTMLButtonElement>('[data-action=drop] button')?.click());
    await vi.waitFor(() =>
      expect(
        fetch.mock.calls.some(
          ([url, init]) => init?.method === 'DELETE' && url === '/api/v1/outbox/2',
        ),
      ).toBe(true),
    );
  });

  it('asks anonymous users to log in', async () => {
    setSession(ANONYMOUS);
    stubFetch((url) =>
      url.endsWith('/session')
        ? [200, ANONYMOUS]
        : [401, { error: 'unauthorized', message: 'log in first' }],
    );
    await act(() =>
      render(<Outbox params={{}} query={new URLSearchParams()} path="/outbox" />, root),
    );
    await vi.waitFor(() =>
      expect(root.querySelector('h1')?.textContent).toBe('You need to log in to see the outbox'),
    );
  });
});
