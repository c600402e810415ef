// The lines of a log the viewer holds: pages of `PAGE` lines aligned on multiples of it,
// fetched as rows come into view and evicted least recently used first, so memory stays
// bounded (in pages and in characters) however long the log is. A page at the end of a
// running log fills up as the log grows.
import type { LogLine } from '~/api/types';

export const PAGE = 1000;

/** One fetch: `limit` lines from `offset`, completing page `page`. */
export interface PageFetch {
  page: number;
  offset: number;
  limit: number;
}

export class LineCache {
  /** Pages by index, in least-recently-used order. */
  private pages = new Map<number, LogLine[]>();
  private chars = 0;

  constructor(
    readonly maxPages = 60,
    readonly maxChars = 24_000_000,
  ) {}

  /** Line `n`, if held. */
  line(n: number): LogLine | undefined {
    return this.pages.get(Math.floor(n / PAGE))?.[n % PAGE];
  }

  /** Lines held of page `page` (its first ones). */
  held(page: number): number {
    return this.pages.get(page)?.length ?? 0;
  }

  get size(): number {
    return this.pages.size;
  }

  /** Stores lines read from `offset` on; they must continue what the page holds. */
  put(offset: number, lines: readonly LogLine[]): void {
    let at = offset;
    let rest = lines;
    while (rest.length) {
      const page = Math.floor(at / PAGE);
      const inPage = at - page * PAGE;
      const have = this.pages.get(page) ?? [];
      const take = Math.min(rest.length, PAGE - inPage);
      if (inPage > have.length) return; // a gap: the page must be read from its start
      const added = rest.slice(have.length - inPage, take);
      if (added.length || !this.pages.has(page)) {
        const next = have.concat(added);
        this.chars += added.reduce((n, l) => n + l.text.length, 0);
        this.pages.delete(page);
        this.pages.set(page, next);
      }
      at += take;
      rest = rest.slice(take);
    }
  }

  /** Marks pages as just used. */
  touch(pages: Iterable<number>): void {
    for (const p of pages) {
      const lines = this.pages.get(p);
      if (lines) {
        this.pages.delete(p);
        this.pages.set(p, lines);
      }
    }
  }

  /** Drops least recently used pages past the bounds, never one of `keep`. */
  evict(keep: ReadonlySet<number>): void {
    for (const [p, lines] of this.pages) {
      if (this.pages.size <= this.maxPages && this.chars <= this.maxChars) return;
      if (keep.has(p)) continue;
      this.pages.delete(p);
      this.chars -= lines.reduce((n, l) => n + l.text.length, 0);
    }
  }

  clear(): void {
    this.pages.clear();
    this.chars = 0;
  }
}

/** The pages holding `lines`, in order. */
export function pagesOf(lines: Iterable<number>): number[] {
  const set = new Set<number>();
  for (const n of lines) set.add(Math.floor(n / PAGE));
  return [...set].sort((a, b) => a - b);
}

/** What to fetch so `pages` hold every line the log has (`total` so far). */
export function fetchesFor(cache: LineCache, pages: readonly number[], total: number): PageFetch[] {
  const out: PageFetch[] = [];
  for (const page of pages) {
    const offset = page * PAGE + cache.held(page);
    const end = Math.min(total, (page + 1) * PAGE);
    if (offset < end) out.push({ page, offset, limit: end - offset });
  }
  return out;
}
