import type { ComponentChildren } from 'preact';

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return <p class="muted">{what}</p>;
}

export function ErrorMessage({ error, children }: { error: Error; children?: ComponentChildren }) {
  return (
    <div class="error-box" role="alert">
      {error.message}
      {children}
    </div>
  );
}
