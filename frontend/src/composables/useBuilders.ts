// Every builder with its live state: fetched when a page mounts, kept current by the builds
// store's events, and fetched again (debounced) after worker events, which change builder
// states in ways only the server knows (which workers serve which builders, pauses).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { Builder } from '~/api/types';
import { dispatch, useBuildsStore } from '~/stores/buildsStore';
import { useServerEvents } from './useServerEvents';

const WORKER_EVENTS = new Set([
  'worker.connected',
  'worker.disconnected',
  'worker.paused',
  'worker.unpaused',
  'worker.stopping',
]);

function refresh(): Promise<Error | null> {
  return apiGet('/builders').then(
    (r) => {
      dispatch({ type: 'builders', builders: r.builders });
      return null;
    },
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

export interface BuildersState {
  /** Every builder, in configuration order. */
  builders: Builder[];
  /** Whether the first fetch has answered. */
  loaded: boolean;
  /** Why the first fetch failed. */
  error: Error | null;
}

export function useBuilders(): BuildersState {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [first, setFirst] = useState<{ loaded: boolean; error: Error | null }>({
    loaded: false,
    error: null,
  });
  useEffect(() => {
    void refresh().then((error) => setFirst({ loaded: true, error }));
    return () => clearTimeout(timer.current);
  }, []);
  useServerEvents(
    (ev) => {
      if (!WORKER_EVENTS.has(ev.type)) return;
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void refresh(), 300);
    },
    () => void refresh(),
  );
  const builders = useBuildsStore((s) => s.builders);
  const order = useBuildsStore((s) => s.builderOrder);
  const list = useMemo(() => order.map((n) => builders[n]).filter(Boolean), [builders, order]);
  return { builders: list, ...first };
}
