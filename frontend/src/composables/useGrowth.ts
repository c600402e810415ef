// Waiting for a running log to grow: scans that reached the end of what is stored sleep
// here until the log's length passes where they stopped.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** `untilPast(n, signal)` resolves once `total` exceeds `n` (or the signal aborts). */
export function useGrowth(total: number) {
  const latest = useRef(total);
  const waiters = useRef(new Set<() => void>());
  useEffect(() => {
    latest.current = total;
    for (const w of [...waiters.current]) w();
  }, [total]);
  return useCallback(
    (n: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (latest.current > n || signal.aborted) {
            waiters.current.delete(check);
            resolve();
          }
        };
        waiters.current.add(check);
        signal.addEventListener('abort', check);
        check();
      }),
    [],
  );
}

/** `value`, once it has stayed the same for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
