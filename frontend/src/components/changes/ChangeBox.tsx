import type { Change } from '~/api/types';
import { pure } from '~/components/common/pure';
import { clock, parseTime } from '~/lib/time';
import { paths } from '~/router';
import { CommentText } from './CommentText';
import { ProjectLink } from './ProjectLink';
import { RevisionLink } from './RevisionLink';

/** A change in the waterfall's changes column: who, which revision, and its message. */
function ChangeBoxImpl({ change }: { change: Change }) {
  const at = parseTime(change.received_at);
  return (
    <div
      class="change-box"
      data-testid="change-box"
      data-change={change.id}
      data-author={change.author}
      data-branch={change.branch ?? ''}
    >
      <div class="change-head">
        <a href={paths.change(change.id)} class="change-author">
          {change.author}
        </a>{' '}
        <RevisionLink revision={change.revision} href={change.revlink} />
      </div>
      <div class="change-comment">
        <CommentText change={change} />
      </div>
      <div class="change-meta">
        {at != null ? clock(at) : ''}
        {change.branch ? ` · ${change.branch}` : ''}
        {change.project && (
          <>
            {' · '}
            <ProjectLink name={change.project} href={change.project_url} />
          </>
        )}
      </div>
    </div>
  );
}

export const ChangeBox = pure(ChangeBoxImpl);
