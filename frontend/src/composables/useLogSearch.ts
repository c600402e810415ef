// Searching a log on the server: the matching line numbers arrive a page at a time (each
// page a bounded part of the log) until the whole log is read; a running log is searched on
// as it grows. At most `MAX_MATCHES` are kept.
import { useEffect, useState } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { useDebounced, useGrowth } from './useGrowth';
import { logParams, type LogAddress } from './useLogWindow';

const SEARCH = '/builders/{name}/builds/{number}/steps/{step}/logs/{log}/search' as const;
export const MAX_MATCHES = 100_000;

export interface LogSearch {
  /** The query these matches are for. */
  query: string;
  /** Matching line numbers, in order. */
  matches: number[];
  /** Whether more of the log is being read. */
  searching: boolean;
  /** Whether matches were left out past `MAX_MATCHES`. */
  capped: boolean;
  error: Error | null;
}

const idle = (query: string): LogSearch => ({
  query,
  matches: [],
  searching: query !== '',
  capped: false,
  error: null,
});

export function useLogSearch(id: LogAddress, query: string, total: number): LogSearch {
  const q = useDebounced(query.trim(), 250);
  const [state, setState] = useState<LogSearch>(() => idle(q));
  const untilPast = useGrowth(total);

  useEffect(() => {
    setState(idle(q));
    if (!q) return;
    const ctl = new AbortController();
    void (async () => {
      let from = 0;
      let found = 0;
      for (;;) {
        const page = await apiGet(SEARCH, {
          params: logParams(id),
          query: { q, from },
          signal: ctl.signal,
        });
        if (ctl.signal.aborted) return;
        const add = page.lines.slice(0, MAX_MATCHES - found);
        found += add.length;
        const capped = found >= MAX_MATCHES;
        setState((s) => ({
          ...s,
          matches: add.length ? s.matches.concat(add) : s.matches,
          capped,
          searching: !page.at_end && !capped,
        }));
        from = page.next;
        if (capped || (page.at_end && page.complete)) return;
        if (page.at_end) await untilPast(Math.max(from, page.total), ctl.signal);
        if (ctl.signal.aborted) return;
      }
    })().catch((e: unknown) => {
      if (ctl.signal.aborted) return;
      const error = e instanceof Error ? e : new Error(String(e));
      setState((s) => ({ ...s, searching: false, error }));
    });
    return () => ctl.abort();
  }, [id, q, untilPast]);

  return state;
}
