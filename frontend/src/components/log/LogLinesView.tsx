import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { lineOfRow, rowOfLine, type FoldMap } from '~/lib/logFold';
import {
  clampTop,
  isScaled,
  LINE_HEIGHT,
  maxTopRow,
  rowAtScroll,
  rowsInView,
  rowTop,
  scrollAtRow,
  scrollHeight,
  type Geometry,
} from '~/lib/logViewport';

/** A request to bring a line into view; a new `seq` asks again for the same line. */
export interface ScrollTarget {
  line: number;
  seq: number;
}

interface Props {
  fold: FoldMap;
  /** Whether the view sticks to the end as the log grows. */
  follow: boolean;
  onFollow: (follow: boolean) => void;
  target: ScrollTarget | null;
  /** Told which lines are on screen after each move. */
  onView: (lines: number[]) => void;
  renderRow: (line: number, top: number) => ComponentChildren;
}

interface Position {
  /** Top row, fractional. */
  top: number;
  /** The scroll offset that shows it. */
  scroll: number;
  viewport: number;
}

/**
 * The rows of a log in a scroll box. Only the rows on screen (and a few either side) are in
 * the DOM. The position is kept as the line at the top, so folding or new sections above do
 * not move what is on screen; while following, the view stays at the end.
 */
export function LogLinesView({ fold, follow, onFollow, target, onView, renderRow }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState<Position>({ top: 0, scroll: 0, viewport: 600 });
  const latest = useRef({ pos, fold, follow });
  latest.current = { pos, fold, follow };
  const topLine = useRef<{ line: number; frac: number } | null>(null);
  const shownFold = useRef(fold);

  const geometry = (viewport: number, f = latest.current.fold): Geometry => ({
    rows: f.rows,
    viewport,
  });

  /** Puts row `top` at the top of the view. */
  const moveTo = (top: number, viewport = latest.current.pos.viewport) => {
    const f = latest.current.fold;
    const g = geometry(viewport, f);
    const t = clampTop(top, g);
    const el = box.current;
    let scroll = scrollAtRow(t, g);
    if (el) {
      el.scrollTop = scroll;
      scroll = el.scrollTop;
    }
    const whole = Math.floor(t);
    topLine.current = f.rows ? { line: lineOfRow(f, whole), frac: t - whole } : null;
    const next = { top: t, scroll, viewport };
    latest.current.pos = next;
    setPos(next);
  };

  // The content changed (new lines, sections, folds): keep the top line, or the end.
  useLayoutEffect(() => {
    const changed = shownFold.current !== fold;
    shownFold.current = fold;
    const g = geometry(pos.viewport);
    if (follow) moveTo(maxTopRow(g));
    else if (changed && topLine.current)
      moveTo(rowOfLine(fold, topLine.current.line) + topLine.current.frac);
  }, [fold, follow]);

  useLayoutEffect(() => {
    if (!target) return;
    const rowsShown = pos.viewport / LINE_HEIGHT;
    moveTo(rowOfLine(fold, target.line) - Math.floor(rowsShown / 3));
  }, [target?.seq]);

  // The box's height follows the window.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => {
      const viewport = el.clientHeight || 600;
      if (viewport === latest.current.pos.viewport) return;
      moveTo(latest.current.follow ? Infinity : latest.current.pos.top, viewport);
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const { pos: p, fold: f, follow: following } = latest.current;
    // Our own move (or rounding of it): the fractional top row stays as it is.
    if (Math.abs(el.scrollTop - p.scroll) < 1) return;
    const g = geometry(p.viewport, f);
    const top = rowAtScroll(el.scrollTop, g);
    const whole = Math.floor(top);
    topLine.current = f.rows ? { line: lineOfRow(f, whole), frac: top - whole } : null;
    const next = { ...p, top, scroll: el.scrollTop };
    latest.current.pos = next;
    setPos(next);
    const atEnd = top >= maxTopRow(g) - 0.5;
    if (atEnd !== following) onFollow(atEnd);
  };

  // Past the browser's height limit the scrollbar is scaled: wheel and keys move by rows.
  const scaled = isScaled(geometry(pos.viewport));
  const by = (rows: number) => {
    const { pos: p, fold: f } = latest.current;
    moveTo(p.top + rows);
    const atEnd = latest.current.pos.top >= maxTopRow(geometry(p.viewport, f)) - 0.5;
    if (atEnd !== latest.current.follow) onFollow(atEnd);
  };
  useEffect(() => {
    const el = box.current;
    if (!el || !scaled) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const rowsPerPage = latest.current.pos.viewport / LINE_HEIGHT;
      const unit = e.deltaMode === 1 ? 1 : e.deltaMode === 2 ? rowsPerPage : 1 / LINE_HEIGHT;
      by(e.deltaY * unit);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [scaled]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (!scaled || e.target !== box.current) return;
    const page = Math.max(1, Math.floor(pos.viewport / LINE_HEIGHT) - 1);
    const moves: Record<string, number> = {
      ArrowDown: 2,
      ArrowUp: -2,
      PageDown: page,
      PageUp: -page,
      ' ': e.shiftKey ? -page : page,
      Home: -Infinity,
      End: Infinity,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    by(moves[e.key]);
  };

  const g = geometry(pos.viewport);
  const [from, to] = rowsInView(pos.top, g);
  const lines: number[] = [];
  for (let r = from; r < to; r++) lines.push(lineOfRow(fold, r));
  useEffect(() => onView(lines), [from, to, fold]);

  return (
    <div
      class="log-box"
      ref={box}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
      data-testid="log-lines"
      tabIndex={0}
      role="log"
      aria-live="off"
      aria-label="Log lines"
    >
      <div class="log-inner" style={{ height: `${scrollHeight(g)}px` }}>
        {lines.map((line, i) => renderRow(line, rowTop(from + i, pos.top, pos.scroll, g)))}
      </div>
    </div>
  );
}
