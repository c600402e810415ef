import { safeHref, shortRev } from '~/lib/links';

interface Props {
  revision?: string;
  href?: string;
  /** The whole revision, where there is room for it (a change's own page). */
  full?: boolean;
}

/** A (shortened) revision, linked to its page when `[web] revlink` (or the change) says where. */
export function RevisionLink({ revision, href, full }: Props) {
  if (!revision) return <span class="muted">latest</span>;
  const url = safeHref(href);
  const text = full ? revision : shortRev(revision);
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
