// Collapsible sections of a log, paired from the markers the server finds (GitHub Actions
// groups, GitLab sections, Buildkite headers). Markers arrive a page at a time, in line
// order, so the pairing is incremental: sections still open have no end yet.
import type { components } from '~/api/schema';

export type Marker = components['schemas']['LogMarker'];
export type Syntax = Marker['syntax'];

export interface Section {
  /** Its header line. */
  start: number;
  /** Its last line; null while it is still open (it reaches the end of the log so far). */
  end: number | null;
  title: string;
  syntax: Syntax;
  /** Whether it starts folded. */
  collapsed: boolean;
  /** Sections around it. */
  depth: number;
}

export class SectionScanner {
  /** Every section so far, by start line. */
  readonly sections: Section[] = [];
  /** Lines that close a section (shown dimmed). */
  readonly endLines = new Set<number>();
  /** Open sections, innermost last, with the GitLab name each was opened under. */
  private open: { section: Section; name: string }[] = [];

  /** Pairs the next markers (in line order, after any seen before). */
  add(markers: readonly Marker[]): void {
    for (const m of markers) {
      if (m.start) this.start(m);
      else this.end(m);
    }
  }

  private start(m: Marker): void {
    // A Buildkite header ends the Buildkite section before it (and what opened inside it).
    if (m.syntax === 'buildkite')
      this.closeFrom(
        this.find((o) => o.section.syntax === 'buildkite'),
        m.line - 1,
      );
    const section: Section = {
      start: m.line,
      end: null,
      title: m.title || m.name,
      syntax: m.syntax,
      collapsed: m.collapsed,
      depth: this.open.length,
    };
    this.sections.push(section);
    this.open.push({ section, name: m.name });
  }

  private end(m: Marker): void {
    const at = this.find(
      (o) => o.section.syntax === m.syntax && (m.syntax !== 'gitlab' || o.name === m.name),
    );
    if (at < 0) return;
    this.endLines.add(m.line);
    this.closeFrom(at, m.line);
  }

  private find(test: (o: { section: Section; name: string }) => boolean): number {
    for (let i = this.open.length - 1; i >= 0; i--) if (test(this.open[i])) return i;
    return -1;
  }

  /** Ends the open section at `index` and every one inside it at `line`. */
  private closeFrom(index: number, line: number): void {
    if (index < 0) return;
    for (const o of this.open.splice(index)) o.section.end = Math.max(o.section.start, line);
  }

  /** The log is finished: what is still open ends at its last line. */
  finish(lastLine: number): void {
    this.closeFrom(0, lastLine);
  }
}

/** The last line of a section, given the log's length so far. */
export function sectionEnd(s: Section, total: number): number {
  return Math.min(s.end ?? total - 1, total - 1);
}

/** The innermost-first list of sections containing `line` (header lines included). */
export function sectionsAround(
  sections: readonly Section[],
  line: number,
  total: number,
): Section[] {
  // Sections are sorted by start and nest, so those holding `line` start at or before it,
  // and none before the last top-level section that does.
  const out: Section[] = [];
  let hi = upperBound(sections, line);
  while (hi-- > 0) {
    const s = sections[hi];
    if (sectionEnd(s, total) >= line) out.push(s);
    if (s.depth === 0) break;
  }
  return out;
}

/** Index of the first section starting after `line`. */
export function upperBound(sections: readonly Section[], line: number): number {
  let lo = 0;
  let hi = sections.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sections[mid].start <= line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
