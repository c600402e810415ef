import type { LogLine } from '~/api/types';
import { formatAnchor } from '~/lib/logAnchor';
import type { Section } from '~/lib/logSections';
import { AnsiText } from './AnsiText';

const CHANNEL_CLASS = { o: 'out', e: 'err', h: 'hdr' } as const;

export interface RowProps {
  /** Line number, from 0. */
  n: number;
  top: number;
  line: LogLine | undefined;
  /** The section this line heads, with whether it is folded and its body's length. */
  head?: { section: Section; folded: boolean; body: number };
  /** Whether the line closes a section. */
  closes: boolean;
  selected: boolean;
  match: boolean;
  current: boolean;
  query: string;
  onNumber: (n: number, extend: boolean) => void;
  onToggle: (s: Section) => void;
}

/** One row of the log view: its number (a link to its anchor), a fold toggle, its text. */
export function LogRow(p: RowProps) {
  const classes = ['line', CHANNEL_CLASS[p.line?.channel ?? 'o']];
  if (p.head) classes.push('section-head');
  if (p.closes) classes.push('section-end');
  if (p.selected) classes.push('selected');
  if (p.match) classes.push('match');
  if (p.current) classes.push('current');
  const s = p.head?.section;
  return (
    <div class={classes.join(' ')} style={{ top: `${p.top}px` }} data-line={p.n + 1}>
      <a
        class="no"
        href={formatAnchor({ from: p.n, to: p.n })}
        onClick={(e) => {
          e.preventDefault();
          p.onNumber(p.n, e.shiftKey);
        }}
      >
        {p.n + 1}
      </a>
      {p.head && s ? (
        <>
          <button
            type="button"
            class="fold"
            aria-expanded={!p.head.folded}
            aria-label={`${p.head.folded ? 'Unfold' : 'Fold'} section ${s.title}`}
            disabled={p.head.body === 0}
            onClick={() => p.onToggle(s)}
          >
            {p.head.folded ? '▸' : '▾'}
          </button>
          <span class="tx section-title">{s.title}</span>
          {p.head.body > 0 && (
            <span class="section-size">
              {p.head.body.toLocaleString('en')} {p.head.body === 1 ? 'line' : 'lines'}
            </span>
          )}
        </>
      ) : p.line ? (
        <AnsiText line={p.line} query={p.query} />
      ) : (
        <span class="tx pending" aria-hidden="true" />
      )}
    </div>
  );
}
