// Keep a fetched snapshot current by fetching it again after the events that change it: for
// pages whose data only the server can recompute (a worker's host info, the master's state).
import { useEffect, useRef } from 'preact/hooks';
import type { Inputs } from 'preact/hooks';
import { whenOpen } from '~/stores/eventStream';
import type { ServerEvent } from '~/stores/eventTypes';
import { useAsync, type AsyncState } from './useAsync';
import { useServerEvents } from './useServerEvents';

/** A burst of events (builds starting together) makes one fetch. */
const COALESCE_MS = 150;

/**
 * `load`s once the event stream is open (so no event falls between the snapshot and the
 * stream), then again after every event `matters` accepts and after a reconnection.
 */
export function useReloadOn<T>(
  load: (signal: AbortSignal) => Promise<T>,
  matters: (ev: ServerEvent) => boolean,
  deps: Inputs,
): AsyncState<T> {
  const state = useAsync(async (signal) => {
    await whenOpen();
    return load(signal);
  }, deps);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const fns = useRef({ matters, reload: state.reload });
  fns.current = { matters, reload: state.reload };
  useEffect(() => () => clearTimeout(timer.current), []);
  useServerEvents(
    (ev) => {
      if (!fns.current.matters(ev)) return;
      clearTimeout(timer.current);
      timer.current = setTimeout(() => fns.current.reload(), COALESCE_MS);
    },
    () => fns.current.reload(),
  );
  return state;
}
