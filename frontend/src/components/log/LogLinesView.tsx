import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { LogBuffer } from '~/lib/logBuffer';
import { visibleRange } from '~/lib/logBuffer';

const LINE_HEIGHT = 18;
const CHANNEL_CLASS = { o: 'out', e: 'err', h: 'hdr' } as const;

/**
 * The lines of a log buffer in a scroll box. Only the lines in view are in the DOM, so huge
 * logs stay cheap. While scrolled to the bottom the view follows new lines.
 */
export function LogLinesView({ buf }: { buf: LogBuffer }) {
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  const shownStart = useRef(buf.start);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const count = buf.lines.length;

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (follow.current) el.scrollTop = el.scrollHeight;
    else if (buf.start < shownStart.current) {
      // Earlier lines were added above: keep the same lines in view.
      el.scrollTop += (shownStart.current - buf.start) * LINE_HEIGHT;
    }
    shownStart.current = buf.start;
    setScroll({ top: el.scrollTop, height: el.clientHeight });
  }, [count, buf.start]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_HEIGHT;
    setScroll({ top: el.scrollTop, height: el.clientHeight });
  };

  const [from, to] = visibleRange(scroll.top, scroll.height, LINE_HEIGHT, count);
  const rows = [];
  for (let i = from; i < to; i++) {
    const l = buf.lines[i];
    rows.push(
      <div
        key={buf.start + i}
        class={`line ${CHANNEL_CLASS[l.channel] ?? 'out'}`}
        style={{ top: `${i * LINE_HEIGHT}px` }}
      >
        <span class="no">{buf.start + i + 1}</span>
        <span class="tx">{l.text}</span>
      </div>,
    );
  }

  return (
    <div
      class="log-box"
      ref={box}
      onScroll={onScroll}
      data-testid="log-lines"
      tabIndex={0}
      role="log"
      aria-live="off"
    >
      <div class="log-inner" style={{ height: `${count * LINE_HEIGHT}px` }}>
        {rows}
      </div>
    </div>
  );
}
