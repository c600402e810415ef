// Receive server events in a component (from the page's single stream).
import { useEffect, useRef } from 'preact/hooks';
import { onReconnect, subscribe } from '~/stores/eventStream';
import type { ServerEvent } from '~/stores/eventTypes';

export function useServerEvents(handler: (ev: ServerEvent) => void, onResync?: () => void): void {
  const ref = useRef({ handler, onResync });
  ref.current = { handler, onResync };
  useEffect(() => {
    const stop = subscribe((ev) => ref.current.handler(ev));
    const stopResync = onReconnect(() => ref.current.onResync?.());
    return () => {
      stop();
      stopResync();
    };
  }, []);
}
