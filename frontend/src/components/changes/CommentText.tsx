import type { Change } from '~/api/types';
import { safeHref } from '~/lib/links';

/** A change's comment as text, with the links `[web] changecommentlink` found in it. */
export function CommentText({ change }: { change: Pick<Change, 'comments' | 'comment_parts'> }) {
  if (!change.comment_parts) return <>{change.comments}</>;
  return (
    <>
      {change.comment_parts.map((p, i) => {
        const href = safeHref(p.url);
        return href ? (
          <a key={i} href={href} title={p.title} rel="noopener noreferrer" data-native>
            {p.text}
          </a>
        ) : (
          <span key={i}>{p.text}</span>
        );
      })}
    </>
  );
}
