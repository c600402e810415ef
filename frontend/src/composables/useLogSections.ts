// The collapsible sections of a log: markers read from the server a page at a time (each
// page a bounded part of the log), paired as they come; a running log is read on as it grows.
import { useEffect, useState } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { SectionScanner, type Section } from '~/lib/logSections';
import { useGrowth } from './useGrowth';
import { logParams, type LogAddress } from './useLogWindow';

const MARKERS = '/builders/{name}/builds/{number}/steps/{step}/logs/{log}/markers' as const;

export interface LogSections {
  /** Sections found so far, by start line. */
  list: Section[];
  /** Lines closing a section. */
  ends: ReadonlySet<number>;
}

const none: LogSections = { list: [], ends: new Set() };

export function useLogSections(id: LogAddress, total: number): LogSections {
  const [state, setState] = useState<LogSections>(none);
  const untilPast = useGrowth(total);

  useEffect(() => {
    setState(none);
    const ctl = new AbortController();
    const scanner = new SectionScanner();
    void (async () => {
      let from = 0;
      for (;;) {
        const page = await apiGet(MARKERS, {
          params: logParams(id),
          query: { from },
          signal: ctl.signal,
        });
        if (ctl.signal.aborted) return;
        scanner.add(page.markers);
        if (page.at_end && page.complete) scanner.finish(page.total - 1);
        if (page.markers.length || page.at_end)
          setState({ list: [...scanner.sections], ends: scanner.endLines });
        from = page.next;
        if (page.at_end && page.complete) return;
        if (page.at_end) await untilPast(Math.max(from, page.total), ctl.signal);
        if (ctl.signal.aborted) return;
      }
    })().catch(() => {
      // Sections are an aid: without them the log still shows, unfolded.
    });
    return () => ctl.abort();
  }, [id, untilPast]);

  return state;
}
