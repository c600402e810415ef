import type { UserAttribute } from '~/api/types';

/** A user's attributes (email, git, svn, irc…) as `type: value` lines. */
export function Attributes({ attributes }: { attributes: UserAttribute[] }) {
  if (attributes.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="attributes">
      {attributes.map((a, i) => (
        <li key={i}>
          <span class="muted">{a.type}:</span> {a.value}
        </li>
      ))}
    </ul>
  );
}
