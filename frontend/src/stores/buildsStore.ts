// The global builds store: state + subscribers, fed by the one event stream.
import { useEffect, useReducer, useRef } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { BuildPage } from '~/api/types';
import { initialState, missingBuild, reduce, type Action, type BuildsState } from './builds';
import { subscribe } from './eventStream';

let state: BuildsState = initialState;
const subscribers = new Set<() => void>();
let scheduled = false;

function notify(): void {
  if (scheduled) return;
  scheduled = true;
  // Batch bursts of events into one render per frame.
  const run = () => {
    scheduled = false;
    for (const s of subscribers) s();
  };
  if (typeof requestAnimationFrame === 'function' && !document.hidden) requestAnimationFrame(run);
  else setTimeout(run, 16);
}

export function getState(): BuildsState {
  return state;
}

export function dispatch(action: Action): void {
  const next = reduce(state, action);
  if (next !== state) {
    state = next;
    notify();
  }
}

const fetching = new Set<string>();

/**
 * Fetch one build and put it into the store (deduplicated while in flight); resolves with
 * the whole answer, which also carries what only the build's page shows.
 */
export async function loadBuild(builder: string, number: number): Promise<BuildPage> {
  const key = `${builder}/${number}`;
  fetching.add(key);
  try {
    const b = await apiGet('/builders/{name}/builds/{number}', {
      params: { name: builder, number },
    });
    dispatch({ type: 'builds', builds: [b] });
    return b;
  } finally {
    fetching.delete(key);
  }
}

let unsubscribeStream: (() => void) | null = null;

/** Start applying server events to the store (idempotent). */
export function followEvents(): () => void {
  unsubscribeStream ??= subscribe((ev) => {
    const missing = missingBuild(state, ev);
    dispatch({ type: 'event', event: ev });
    if (missing && !fetching.has(`${missing[0]}/${missing[1]}`)) {
      void loadBuild(missing[0], missing[1]).catch(() => undefined);
    }
  });
  return () => {
    if (subscribers.size === 0 && unsubscribeStream) {
      unsubscribeStream();
      unsubscribeStream = null;
    }
  };
}

/** Re-render when the selected part of the store changes (by reference). */
export function useBuildsStore<T>(select: (s: BuildsState) => T): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const value = select(state);
  const latest = useRef({ select, value });
  latest.current = { select, value };
  useEffect(() => {
    const check = () => {
      if (latest.current.select(state) !== latest.current.value) rerender(0);
    };
    subscribers.add(check);
    check();
    const stop = followEvents();
    return () => {
      subscribers.delete(check);
      stop();
    };
  }, []);
  return value;
}
