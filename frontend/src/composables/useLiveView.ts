// A page's snapshot kept current by the event stream, without losing the events that happen
// while the snapshot is being fetched: the stream is opened first, events arriving during the
// fetch are kept and applied to the snapshot, and a reconnection fetches a new snapshot.
import type { Inputs } from 'preact/hooks';
import { useEffect, useRef, useState } from 'preact/hooks';
import { subscribe, onReconnect, whenOpen } from '~/stores/eventStream';
import type { ServerEvent } from '~/stores/eventTypes';

export interface LiveView<T> {
  data: T | null;
  error: Error | undefined;
  reload: () => void;
}

export function useLiveView<T>(
  load: (signal: AbortSignal) => Promise<T>,
  apply: (state: T, ev: ServerEvent) => T,
  deps: Inputs,
): LiveView<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const fns = useRef({ load, apply });
  fns.current = { load, apply };
  // Events seen while a snapshot is in flight; null when none is.
  const buffer = useRef<ServerEvent[] | null>(null);

  useEffect(() => {
    const stop = subscribe((ev) => {
      if (buffer.current) buffer.current.push(ev);
      else setData((d) => (d == null ? d : fns.current.apply(d, ev)));
    });
    const stopResync = onReconnect(() => setTick((t) => t + 1));
    return () => {
      stop();
      stopResync();
    };
  }, []);

  useEffect(() => {
    const ctl = new AbortController();
    buffer.current = [];
    void whenOpen()
      .then(() => fns.current.load(ctl.signal))
      .then(
        (snapshot) => {
          if (ctl.signal.aborted) return;
          const missed = buffer.current ?? [];
          buffer.current = null;
          setData(missed.reduce((d, ev) => fns.current.apply(d, ev), snapshot));
          setError(undefined);
        },
        (e: unknown) => {
          if (ctl.signal.aborted) return;
          buffer.current = null;
          setError(e instanceof Error ? e : new Error(String(e)));
        },
      );
    return () => {
      ctl.abort();
      buffer.current = null;
    };
  }, [...deps, tick]);

  return { data, error, reload: () => setTick((t) => t + 1) };
}
