import { useEffect } from 'preact/hooks';
import type { ViewProps } from '~/lazyView';

export default function NotFound({ path }: ViewProps) {
  useEffect(() => {
    document.title = 'Not found — Cascade';
  }, []);
  return (
    <section class="page notice">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>.
      </p>
      <p>
        <a href="/">Home</a> · <a href="/waterfall">Waterfall</a>
      </p>
    </section>
  );
}
