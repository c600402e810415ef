import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session, Worker } from '~/api/types';
import { setSession } from '~/stores/session';
import { WorkerActions } from './WorkerActions';

const worker: Worker = {
  name: 'linux 1',
  connected: true,
  embedded: false,
  info: {},
  paused: false,
  graceful: false,
  running_builds: 0,
  max_builds: 1,
  builders: [],
};

function session(actions: Record<string, boolean>): Session {
  return { roles: [], actions, password_login: true } as Session;
}

describe('WorkerActions', () => {
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

  const buttons = () => [...root.querySelectorAll('button')].map((b) => b.textContent);

  it('shows only the actions the session allows', async () => {
    setSession(session({ pause_worker: false, graceful_shutdown: false }));
    await act(() => render(<WorkerActions worker={worker} />, root));
    expect(buttons()).toEqual([]);
    await act(() => setSession(session({ pause_worker: true, graceful_shutdown: false })));
    expect(buttons()).toEqual(['Pause']);
    await act(() => setSession(session({ pause_worker: true, graceful_shutdown: true })));
    expect(buttons()).toEqual(['Pause', 'Graceful shutdown']);
    await act(() => render(<WorkerActions worker={{ ...worker, paused: true }} />, root));
    expect(buttons()).toEqual(['Unpause', 'Graceful shutdown']);
    const gone = { ...worker, connected: false };
    await act(() => render(<WorkerActions worker={gone} />, root));
    expect(buttons()).toEqual(['Pause']);
  });

  it('asks for a reason and posts it', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ message: 'paused linux 1' })));
    vi.stubGlobal('fetch', fetch);
    setSession(session({ pause_worker: true }));
    await act(() => render(<WorkerActions worker={worker} />, root));
    await act(() => root.querySelector('button')!.click());
    expect(fetch).not.toHaveBeenCalled();
    const reason = root.querySelector<HTMLInputElement>('input[name=reason]')!;
    await act(() => {
      reason.value = 'disk full';
      reason.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(buttons()).toEqual(['Pause linux 1', 'Cancel']);
    await act(async () => {
      root.querySelector<HTMLButtonElement>('button[type=submit]')!.click();
      await new Promise((r) => setTimeout(r, 0));
    });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/workers/linux%201/pause');
    expect(JSON.parse(init.body as string)).toEqual({ reason: 'disk full' });
    expect(root.querySelector('[role=status]')?.textContent).toBe('Paused');
    expect(buttons()).toEqual(['Pause']);
  });
});
