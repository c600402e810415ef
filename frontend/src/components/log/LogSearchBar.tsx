import type { LogSearch } from '~/composables/useLogSearch';

interface Props {
  query: string;
  onQuery: (q: string) => void;
  search: LogSearch;
  /** Index of the current match, or -1. */
  current: number;
  onStep: (delta: 1 | -1) => void;
}

/** The search box: Enter goes to the next match, Shift+Enter to the previous one. */
export function LogSearchBar({ query, onQuery, search, current, onStep }: Props) {
  const n = search.matches.length;
  // While the typed text waits for its debounce, the answer shown is not yet for it.
  const searching = search.searching || search.query !== query.trim();
  const more = searching || search.capped ? '+' : '';
  const count = !query.trim()
    ? ''
    : n === 0
      ? searching
        ? 'Searching…'
        : 'No matches'
      : `${current + 1} of ${n}${more}`;
  return (
    <form
      class="log-search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        onStep(1);
      }}
    >
      <input
        type="search"
        value={query}
        placeholder="Search the log"
        aria-label="Search the log"
        data-testid="log-search"
        onInput={(e) => onQuery(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && e.shiftKey) {
            e.preventDefault();
            onStep(-1);
          } else if (e.key === 'Escape') onQuery('');
        }}
      />
      <button
        type="button"
        class="btn"
        aria-label="Previous match"
        disabled={n === 0}
        onClick={() => onStep(-1)}
      >
        ↑
      </button>
      <button
        type="button"
        class="btn"
        aria-label="Next match"
        disabled={n === 0}
        onClick={() => onStep(1)}
      >
        ↓
      </button>
      <span class="muted search-count" aria-live="polite" data-testid="log-search-count">
        {search.error ? search.error.message : count}
      </span>
    </form>
  );
}
