// The lines of one log, fetched a page at a time for the rows in view and held in a bounded
// cache; the log's length follows the event stream, so a running log grows without reloads.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { LogLine, LogLines } from '~/api/types';
import { fetchesFor, LineCache, pagesOf } from '~/lib/logCache';
import { eventBuild } from '~/stores/builds';
import { onReconnect, subscribe } from '~/stores/eventStream';

/** A log as URLs name it: `step` is the step's number or its name. */
export interface LogAddress {
  builder: string;
  number: number;
  step: string;
  log: string;
}

const LINES = '/builders/{name}/builds/{number}/steps/{step}/logs/{log}/lines' as const;
/** Page fetches in flight at most. */
const PARALLEL = 3;

export function logParams(id: LogAddress) {
  return { name: id.builder, number: id.number, step: id.step, log: id.log };
}

export interface LogWindow {
  /** Lines in the log so far. */
  total: number;
  complete: boolean;
  /** Whether the log's length is known yet. */
  loaded: boolean;
  error: Error | null;
  /** Line `n`, if fetched. */
  line: (n: number) => LogLine | undefined;
  /** Says which lines are on screen: their pages are fetched, and kept while others go. */
  show: (lines: readonly number[]) => void;
}

/**
 * Follows one log. `stepNumber` (the step's number once known) matches the events that
 * announce its growth.
 */
export function useLogWindow(id: LogAddress, stepNumber: number | null): LogWindow {
  const cache = useRef(new LineCache());
  const [meta, setMeta] = useState({ total: 0, complete: false, loaded: false });
  const [, setVersion] = useState(0);
  const [error, setError] = useState<Error | null>(null);
  const total = useRef(0);
  const wanted = useRef<number[]>([]);
  const inflight = useRef(new Map<number, AbortController>());
  // Pages whose last read brought nothing new: read again only once the log grows.
  const stalled = useRef(new Set<number>());
  const alive = useRef(true);

  const read = useCallback(
    (offset: number, limit: number, signal?: AbortSignal) =>
      apiGet(LINES, { params: logParams(id), query: { offset, limit }, signal }),
    [id],
  );

  const absorb = useCallback((page: LogLines) => {
    if (page.total > total.current) stalled.current.clear();
    total.current = Math.max(total.current, page.total);
    setMeta((m) =>
      m.loaded && m.total === total.current && m.complete === page.complete
        ? m
        : { total: total.current, complete: page.complete, loaded: true },
    );
  }, []);

  const fail = (e: unknown) => {
    if (e instanceof DOMException && e.name === 'AbortError') return;
    if (alive.current) setError(e instanceof Error ? e : new Error(String(e)));
  };

  const pump = useCallback(() => {
    const want = wanted.current;
    for (const [page, ctl] of inflight.current) {
      if (!want.includes(page)) {
        ctl.abort();
        inflight.current.delete(page);
      }
    }
    for (const f of fetchesFor(cache.current, want, total.current)) {
      if (inflight.current.size >= PARALLEL) break;
      if (inflight.current.has(f.page) || stalled.current.has(f.page)) continue;
      const ctl = new AbortController();
      inflight.current.set(f.page, ctl);
      read(f.offset, f.limit, ctl.signal)
        .then((page) => {
          if (!alive.current) return;
          const before = cache.current.held(f.page);
          cache.current.put(page.offset, page.lines);
          if (cache.current.held(f.page) === before) stalled.current.add(f.page);
          absorb(page);
          setError(null);
          setVersion((v) => v + 1);
        })
        .catch(fail)
        .finally(() => {
          if (inflight.current.get(f.page) === ctl) inflight.current.delete(f.page);
          if (alive.current && !ctl.signal.aborted) pump();
        });
    }
  }, [read, absorb]);

  /** Reads the last line: the log's length and whether it is complete. */
  const probe = useCallback(() => {
    read(-1, 1)
      .then((page) => {
        if (!alive.current) return;
        absorb(page);
        pump();
      })
      .catch(fail);
  }, [read, absorb, pump]);

  useEffect(() => {
    alive.current = true;
    cache.current.clear();
    total.current = 0;
    stalled.current.clear();
    setMeta({ total: 0, complete: false, loaded: false });
    probe();
    // Lines may have been appended while the stream was down.
    const stopResync = onReconnect(probe);
    return () => {
      alive.current = false;
      for (const ctl of inflight.current.values()) ctl.abort();
      inflight.current.clear();
      stopResync();
    };
  }, [id, probe]);

  // Growth is announced by step number, known once the build is loaded when the URL names
  // the step.
  useEffect(() => {
    if (stepNumber == null) return;
    const grow = (n: number) => {
      if (n <= total.current) return;
      total.current = n;
      stalled.current.clear();
      setMeta((m) => ({ ...m, total: n }));
      pump();
    };
    const stop = subscribe((ev) => {
      const target = eventBuild(ev);
      if (!target || target[0] !== id.builder || target[1] !== id.number) return;
      if (ev.type === 'log.appended' && ev.step_number === stepNumber && ev.log?.slug === id.log) {
        grow(ev.log.num_lines);
      } else if (ev.type === 'step.finished' && ev.step?.number === stepNumber) {
        const info = ev.step.logs.find((l) => l.slug === id.log);
        if (info) grow(info.num_lines);
        // Read the end once more so that `complete` is up to date.
        probe();
      }
    });
    // What happened before this subscription (the step may have finished) is read afresh.
    probe();
    return stop;
  }, [id, stepNumber, probe, pump]);

  const show = useCallback(
    (lines: readonly number[]) => {
      const pages = pagesOf(lines);
      wanted.current = pages;
      cache.current.touch(pages);
      cache.current.evict(new Set(pages));
      pump();
    },
    [pump],
  );

  const line = useCallback((n: number) => cache.current.line(n), []);
  return { ...meta, error, line, show };
}
