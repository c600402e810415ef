import type { GridStamp } from '~/api/types';
import { safeHref, shortRev } from '~/lib/links';
import { stampLabel } from '~/lib/grid';
import { dateTime } from '~/lib/time';

/** A source stamp's header: `project: codebase: shortrev in branch`, the revision linked. */
export function StampHeader({ stamp, as: Tag = 'th' }: { stamp: GridStamp; as?: 'th' | 'td' }) {
  const href = safeHref(stamp.revlink);
  const project = safeHref(stamp.project_url);
  // The project links to its page, the rest of the label to the revision.
  const label = stampLabel({ ...stamp, project: project ? '' : stamp.project });
  return (
    <Tag
      class="stamp"
      scope={Tag === 'th' ? 'col' : undefined}
      title={`${stamp.revision ?? 'latest'} — first built ${dateTime(stamp.time)}`}
    >
      {project && (
        <>
          <a href={project} rel="noopener noreferrer" data-native>
            {stamp.project}
          </a>
          {': '}
        </>
      )}
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
