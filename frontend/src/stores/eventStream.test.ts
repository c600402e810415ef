import { afterEach, describe, expect, it, vi } from 'vitest';

/** A stand-in for the browser's EventSource that the test drives by hand. */
class FakeSource {
  static last: FakeSource | null = null;
  static readonly CLOSED = 2;
  readyState = 1;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: MessageEvent<string>) => void) | null = null;
  handlers = new Map<string, (e: MessageEvent<string>) => void>();
  constructor(public url: string) {
    FakeSource.last = this;
  }
  addEventListener(type: string, h: (e: MessageEvent<string>) => void): void {
    this.handlers.set(type, h);
  }
  close(): void {
    this.readyState = FakeSource.CLOSED;
  }
  emit(type: string, data: unknown): void {
    const h = this.handlers.get(type);
    h?.({ type, data: JSON.stringify(data) } as MessageEvent<string>);
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('the event stream', () => {
  it('turns a resync event into a resynchronisation instead of passing it on', async () => {
    vi.stubGlobal('EventSource', FakeSource);
    const stream = await import('./eventStream');
    const seen: string[] = [];
    let resyncs = 0;
    const stop = stream.subscribe((ev) => seen.push(ev.type));
    const stopResync = stream.onReconnect(() => (resyncs += 1));
    const source = FakeSource.last;
    expect(source?.url).toBe('/api/v1/events');
    source?.onopen?.();
    source?.emit('build.started', { type: 'build.started', at: '2026-01-01T00:00:00Z' });
    source?.emit('resync', { type: 'resync', at: '2026-01-01T00:00:01Z', reason: 'link lost' });
    source?.emit('build.finished', { type: 'build.finished', at: '2026-01-01T00:00:02Z' });
    expect(seen).toEqual(['build.started', 'build.finished']);
    expect(resyncs).toBe(1);
    stop();
    stopResync();
  });

  it('passes a reconfig event on and has the views read their state again', async () => {
    vi.stubGlobal('EventSource', FakeSource);
    const stream = await import('./eventStream');
    const seen: string[] = [];
    let rereads = 0;
    const stop = stream.subscribe((ev) => seen.push(ev.type));
    const stopReread = stream.onReconnect(() => (rereads += 1));
    FakeSource.last?.onopen?.();
    FakeSource.last?.emit('reconfig', {
      type: 'reconfig',
      at: '2026-01-01T00:00:00Z',
      name: 'ci:/srv',
      actor: 'ann',
      reason: 'builders +docs',
    });
    expect(seen).toEqual(['reconfig']);
    expect(rereads).toBe(1);
    stop();
    stopReread();
  });
});
