import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from '~/stores/eventTypes';

const stream = vi.hoisted(() => ({
  listener: null as ((ev: ServerEvent) => void) | null,
  open: null as (() => void) | null,
}));

vi.mock('~/stores/eventStream', () => ({
  subscribe: (l: (ev: ServerEvent) => void) => {
    stream.listener = l;
    return () => (stream.listener = null);
  },
  onReconnect: () => () => undefined,
  whenOpen: () => new Promise<void>((resolve) => (stream.open = resolve)),
}));

const { useLiveView } = await import('./useLiveView');

const AT = '2024-05-01T12:00:00Z';
const flush = () => new Promise((r) => setTimeout(r, 0));
const change = (id: number): ServerEvent => ({
  type: 'change.new',
  at: AT,
  change: {
    id,
    author: 'a',
    comments: '',
    repository: '',
    project: '',
    codebase: '',
    when: AT,
    received_at: AT,
    files: [],
    properties: {},
  },
});

describe('useLiveView', () => {
  const root = document.createElement('div');
  afterEach(() => render(null, root));

  it('waits for the stream, then applies the events that came during the fetch', async () => {
    let resolveLoad: (v: number[]) => void = () => undefined;
    const load = vi.fn(() => new Promise<number[]>((r) => (resolveLoad = r)));
    let seen: number[] | null = null;
    function View() {
      const { data } = useLiveView(
        load,
        (ids, ev) => (ev.change ? [...ids, ev.change.id] : ids),
        [],
      );
      seen = data;
      return null;
    }
    await act(() => render(<View />, root));
    expect(load).not.toHaveBeenCalled();
    await act(async () => {
      stream.open?.();
      await flush();
    });
    expect(load).toHaveBeenCalledTimes(1);
    // An event while the snapshot is on its way is kept, not lost.
    await act(() => stream.listener?.(change(2)));
    expect(seen).toBeNull();
    await act(async () => {
      resolveLoad([1]);
      await flush();
    });
    expect(seen).toEqual([1, 2]);
    // Later events apply at once.
    await act(() => stream.listener?.(change(3)));
    expect(seen).toEqual([1, 2, 3]);
  });
});
