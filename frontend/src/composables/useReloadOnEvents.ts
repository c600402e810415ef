// Fetch a page's data again when server events say it changed: debounced, so a burst of
// events costs one request, and after the stream reconnects (events may have been missed).
import { useEffect, useRef } from 'preact/hooks';
import type { ServerEvent } from '~/stores/eventTypes';
import { useServerEvents } from './useServerEvents';

export function useReloadOnEvents(
  reload: () => void,
  wanted: (ev: ServerEvent) => boolean,
  delayMs = 250,
): void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  useServerEvents((ev) => {
    if (!wanted(ev)) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(reload, delayMs);
  }, reload);
}
