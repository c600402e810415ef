// The page's single EventSource on /api/v1/events, shared by every view; reconnects on error.
import { EVENT_TYPES, isEventType, type ServerEvent } from './eventTypes';

export type Listener = (ev: ServerEvent) => void;
export type ConnectionState = 'connecting' | 'open' | 'closed';

const URL_EVENTS = '/api/v1/events';
const listeners = new Set<Listener>();
const reconnectListeners = new Set<() => void>();
const stateListeners = new Set<(s: ConnectionState) => void>();

let source: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let retryDelay = 1000;
let everOpened = false;
let connState: ConnectionState = 'closed';

function setState(s: ConnectionState): void {
  connState = s;
  for (const l of stateListeners) l(s);
}

/**
 * Resolves once the stream is open (at once if it is), or after `timeoutMs` whatever
 * happens: a page that loads its snapshot after this sees every event that follows it.
 */
export function whenOpen(timeoutMs = 2000): Promise<void> {
  if (connState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const stop = onConnectionState((s) => {
      if (s === 'open') done();
    });
    function done() {
      clearTimeout(timer);
      stop();
      resolve();
    }
  });
}

function dispatch(e: MessageEvent<string>): void {
  let ev: ServerEvent;
  try {
    ev = JSON.parse(e.data) as ServerEvent;
  } catch {
    return;
  }
  if (!ev.type && isEventType(e.type)) ev.type = e.type;
  // Events were missed (the master lost its link to the others, or this stream fell
  // behind): the views read their state again, as after a reconnection.
  if (ev.type === 'resync') {
    for (const l of reconnectListeners) l();
    return;
  }
  for (const l of listeners) l(ev);
  // A new configuration may add or remove builders, workers and schedulers: the views
  // read their state again, as after a reconnection.
  if (ev.type === 'reconfig') for (const l of reconnectListeners) l();
}

function connect(): void {
  if (source || typeof EventSource === 'undefined') return;
  setState('connecting');
  const es = new EventSource(URL_EVENTS);
  source = es;
  for (const t of EVENT_TYPES) es.addEventListener(t, dispatch as EventListener);
  es.onmessage = dispatch;
  es.onopen = () => {
    retryDelay = 1000;
    setState('open');
    // Events may have been missed while disconnected: let views resynchronise.
    if (everOpened) for (const l of reconnectListeners) l();
    everOpened = true;
  };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. a 5xx answer): retry ourselves with backoff.
      es.close();
      source = null;
      setState('closed');
      retryTimer = setTimeout(() => {
        retryTimer = null;
        if (listeners.size > 0) connect();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30_000);
    } else {
      setState('connecting');
    }
  };
}

function disconnectIfIdle(): void {
  if (listeners.size > 0) return;
  source?.close();
  source = null;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  setState('closed');
}

/** Receive every server event; opens the stream on the first subscriber. */
export function subscribe(l: Listener): () => void {
  listeners.add(l);
  connect();
  return () => {
    listeners.delete(l);
    // Keep the stream while navigating between views; close only when nothing listens.
    setTimeout(disconnectIfIdle, 5000);
  };
}

/** Reopen the stream at once (the caller's identity changed), if anything listens. */
export function reconnect(): void {
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  source?.close();
  source = null;
  retryDelay = 1000;
  if (listeners.size > 0) connect();
}

/** Called after the stream reopens following a disconnect. */
export function onReconnect(l: () => void): () => void {
  reconnectListeners.add(l);
  return () => reconnectListeners.delete(l);
}

export function onConnectionState(l: (s: ConnectionState) => void): () => void {
  stateListeners.add(l);
  l(connState);
  return () => stateListeners.delete(l);
}
