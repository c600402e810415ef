import type { GridStamp } from '~/api/types';
import { safeHref, shortRev } from '~/lib/links';
import { stampLabel } from '~/lib/grid';
import { dateTime } from '~/lib/time';

/** A source stamp's header: `project: codebase: shortrev in branch`, the revision linked. */
export function StampHeader({ stamp, as: Tag = 'th' }: { stamp: GridStamp; as?: 'th' | 'td' }) {
  const href = safeHref(stamp.revlink);
  const label = stampLabel(stamp);
  return (
    <Tag
      class="stamp"
      scope={Tag === 'th' ? 'col' : undefined}
      title={`${stamp.revision ?? 'latest'} — first built ${dateTime(stamp.time)}`}
    >
      {href ? (
        <a href={href} rel="noopener noreferrer" data-native>
          {label}
        </a>
      ) : (
        label
      )}
      {stamp.revision && shortRev(stamp.revision) !== stamp.revision && (
        <span class="visually-hidden"> ({stamp.revision})</span>
      )}
    </Tag>
  );
}
