import { useEffect } from 'preact/hooks';
import type { ViewProps } from '~/lazyView';

export default function NotYet({ path }: ViewProps) {
  useEffect(() => {
    document.title = 'Not yet available — Cascade';
  }, []);
  return (
    <section class="page notice">
      <h1>Not yet available</h1>
      <p>
        The page <code>{path}</code> is part of Cascade&apos;s web interface but is not written yet.
      </p>
      <p>
        <a href="/waterfall">Go to the waterfall</a>
      </p>
    </section>
  );
}
