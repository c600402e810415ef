import type { Change } from '~/api/types';
import { pure } from '~/components/common/pure';
import { filterUrl, type ChangeArgs } from '~/lib/changes';
import { dateTime } from '~/lib/time';
import { paths } from '~/router';
import { CommentText } from './CommentText';
import { ProjectLink } from './ProjectLink';
import { RevisionLink } from './RevisionLink';

/** One change of `/changes`; its author and branch narrow the list to theirs. */
function ChangeRowImpl({ change: c, args }: { change: Change; args: ChangeArgs }) {
  return (
    <tr
      data-testid="change-row"
      data-change={c.id}
      data-author={c.author}
      data-branch={c.branch ?? ''}
      data-project={c.project}
      data-repository={c.repository}
    >
      <td class="line-id">
        <a href={paths.change(c.id)} aria-label={`Change ${c.id}`}>
          {c.id}
        </a>
      </td>
      <td class="line-author">
        <a
          class="change-author"
          href={filterUrl(args, 'author', c.author)}
          title="Only this author's changes"
        >
          {c.author}
        </a>
      </td>
      <td class="line-rev">
        {c.revision ? (
          <RevisionLink revision={c.revision} href={c.revlink} />
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td class="line-branch">
        {c.branch ? (
          <a href={filterUrl(args, 'branch', c.branch)} title="Only this branch's changes">
            {c.branch}
          </a>
        ) : (
          <span class="muted">default</span>
        )}
      </td>
      <td class="line-project">
        <ProjectLink name={c.project} href={c.project_url} />
      </td>
      <td class="line-time nowrap" title={`received ${dateTime(c.received_at)}`}>
        {dateTime(c.when)}
      </td>
      <td class="line-comment">
        <div class="change-comment">
          <CommentText change={c} />
        </div>
      </td>
    </tr>
  );
}

export const ChangeRow = pure(ChangeRowImpl);
