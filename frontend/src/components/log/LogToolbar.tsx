import type { ComponentChildren } from 'preact';

interface Props {
  total: number;
  complete: boolean;
  follow: boolean;
  onFollow: () => void;
  sections: number;
  onFoldAll: (folded: boolean) => void;
  rawUrl: string;
  textUrl: string;
  fileName: string;
  children?: ComponentChildren;
}

/** The log's size and state, following, folding all sections, and the plain-text links. */
export function LogToolbar(p: Props) {
  return (
    <div class="log-toolbar">
      {p.children}
      <span class="muted" data-testid="log-total">
        {p.total.toLocaleString('en')} lines{p.complete ? '' : ' · running'}
      </span>
      <button type="button" class="btn" aria-pressed={p.follow} onClick={p.onFollow}>
        {p.complete ? 'Go to end' : p.follow ? 'Following' : 'Follow'}
      </button>
      {p.sections > 0 && (
        <>
          <button type="button" class="btn" onClick={() => p.onFoldAll(false)}>
            Unfold all
          </button>
          <button type="button" class="btn" onClick={() => p.onFoldAll(true)}>
            Fold all
          </button>
        </>
      )}
      <a href={p.rawUrl} download={p.fileName} data-native>
        raw
      </a>
      <a href={p.textUrl} target="_blank" rel="noopener" data-native>
        text
      </a>
    </div>
  );
}
