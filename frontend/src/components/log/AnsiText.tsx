import type { LogLine } from '~/api/types';
import { markMatches, parseAnsi, styleCss, type Segment } from '~/lib/ansi';

// Parsed once per fetched line: rows re-render on every scroll step.
const parsed = new WeakMap<LogLine, Segment[]>();

function segmentsOf(line: LogLine): Segment[] {
  let segs = parsed.get(line);
  if (!segs) {
    segs = parseAnsi(line.text);
    parsed.set(line, segs);
  }
  return segs;
}

/** A log line's text with its terminal colours, and `query` marked where it occurs. */
export function AnsiText({ line, query }: { line: LogLine; query: string }) {
  const segs = markMatches(segmentsOf(line), query);
  if (segs.length === 1 && !segs[0].match && !Object.keys(segs[0].style).length)
    return <span class="tx">{segs[0].text}</span>;
  return (
    <span class="tx">
      {segs.map((s, i) => {
        const style = styleCss(s.style);
        return s.match ? (
          <mark key={i} style={style}>
            {s.text}
          </mark>
        ) : (
          <span key={i} style={style}>
            {s.text}
          </span>
        );
      })}
    </span>
  );
}
