import { safeHref, shortRev } from '~/lib/links';

/** A (shortened) revision, linked to its page when `[web] revlink` (or the change) says where. */
export function RevisionLink({ revision, href }: { revision?: string; href?: string }) {
  if (!revision) return <span class="muted">latest</span>;
  const url = safeHref(href);
  const text = shortRev(revision);
  return url ? (
    <a class="rev" href={url} title={revision} rel="noopener noreferrer" data-native>
      {text}
    </a>
  ) : (
    <code class="rev" title={revision}>
      {text}
    </code>
  );
}
