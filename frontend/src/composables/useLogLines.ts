// Fetch a log's lines page by page: open at the tail, follow it live, load earlier on demand.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { apiGet } from '~/api/client';
import {
  appendPage,
  bufferEnd,
  emptyBuffer,
  nextFetch,
  PAGE_SIZE,
  prependPage,
  tailOffset,
  type LogBuffer,
} from '~/lib/logBuffer';
import { eventBuild } from '~/stores/builds';
import { onReconnect, subscribe } from '~/stores/eventStream';

export interface LogId {
  builder: string;
  number: number;
  step: number;
  log: string;
}

const LINES = '/builders/{name}/builds/{number}/steps/{step}/logs/{log}/lines' as const;

export function useLogLines(id: LogId) {
  const [buf, setBuf] = useState<LogBuffer>(emptyBuffer);
  const [error, setError] = useState<Error | null>(null);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const bufRef = useRef(buf);
  const known = useRef(0); // total lines announced by events
  const busy = useRef(false);
  const again = useRef(false);
  const alive = useRef(true);
  const reread = useRef(false); // fetch the end once more even if nothing new was announced

  const fetchPage = useCallback(
    (offset: number, limit: number) =>
      apiGet(LINES, {
        params: { name: id.builder, number: id.number, step: id.step, log: id.log },
        query: { offset, limit },
      }),
    [id.builder, id.number, id.step, id.log],
  );

  const set = (b: LogBuffer) => {
    bufRef.current = b;
    if (alive.current) setBuf(b);
  };

  /** Fetch until the buffer holds everything the server reported; coalesces calls. */
  const pump = useCallback(async () => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    try {
      do {
        again.current = false;
        let b = bufRef.current;
        if (b.lines.length === 0 && b.total === 0) {
          // First load: read the head to learn the total, then jump to the tail if long.
          let page = await fetchPage(0, PAGE_SIZE);
          if (page.total > PAGE_SIZE) page = await fetchPage(tailOffset(page.total), PAGE_SIZE);
          b = appendPage(b, page);
          set(b);
        }
        const want = () => {
          const n = nextFetch(b, known.current);
          if (n || !reread.current) return n;
          reread.current = false;
          return { offset: bufferEnd(b), limit: PAGE_SIZE };
        };
        for (let next = want(); next; next = want()) {
          const page = await fetchPage(next.offset, next.limit);
          if (page.lines.length === 0) {
            set({ ...b, total: bufferEnd(b), complete: page.complete });
            break;
          }
          b = appendPage(b, page);
          set(b);
        }
      } while (again.current && alive.current);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      busy.current = false;
    }
  }, [fetchPage]);

  useEffect(() => {
    alive.current = true;
    void pump();
    const stop = subscribe((ev) => {
      const target = eventBuild(ev);
      if (!target || target[0] !== id.builder || target[1] !== id.number) return;
      if (ev.type === 'log.appended' && ev.step_number === id.step && ev.log?.slug === id.log) {
        known.current = Math.max(known.current, ev.log.num_lines);
        void pump();
      } else if (ev.type === 'step.finished' && ev.step?.number === id.step) {
        const info = ev.step.logs.find((l) => l.slug === id.log);
        if (info) known.current = Math.max(known.current, info.num_lines);
        // Re-read the end once more so the "complete" flag is up to date.
        reread.current = true;
        void pump();
      }
    });
    // Lines may have been appended while the stream was down.
    const stopResync = onReconnect(() => {
      reread.current = true;
      void pump();
    });
    return () => {
      alive.current = false;
      stop();
      stopResync();
    };
  }, [id.builder, id.number, id.step, id.log, pump]);

  const loadEarlier = useCallback(async () => {
    const b = bufRef.current;
    if (b.start === 0) return;
    setLoadingEarlier(true);
    try {
      const offset = Math.max(0, b.start - PAGE_SIZE);
      const page = await fetchPage(offset, b.start - offset);
      set(prependPage(bufRef.current, page));
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setLoadingEarlier(false);
    }
  }, [fetchPage]);

  return { buf, error, loadEarlier, loadingEarlier };
}
