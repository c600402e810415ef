import { useEffect, useMemo } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { ChangeRow } from '~/components/changes/ChangeRow';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { FilterForm, type FilterField } from '~/components/filters/FilterForm';
import { useLiveView } from '~/composables/useLiveView';
import type { ViewProps } from '~/lazyView';
import { applyChangeEvent, changeArgs, newestUrl, olderUrl } from '~/lib/changes';

const FIELDS: FilterField[] = [
  { name: 'author', label: 'Authors', kind: 'text', placeholder: 'Ann <ann@example.org>' },
  { name: 'branch', label: 'Branches', kind: 'text', placeholder: 'main, trunk' },
  { name: 'repository', label: 'Repositories', kind: 'text' },
  { name: 'project', label: 'Projects', kind: 'text' },
  { name: 'limit', label: 'Changes per page', kind: 'number', placeholder: '50' },
];

/** `/changes`: the changes the master has seen, newest first, filtered and paged by the URL. */
export default function Changes({ query }: ViewProps) {
  const qs = query.toString();
  const args = useMemo(() => changeArgs(query), [qs]);
  useEffect(() => {
    document.title = 'Changes — Cascade';
  }, []);
  const { data: page, error } = useLiveView(
    (signal) =>
      apiGet('/changes', {
        query: {
          author: args.author,
          branch: args.branch,
          repository: args.repository,
          project: args.project,
          limit: args.limit,
          before: args.before,
        },
        signal,
      }),
    // Only the newest page grows; an older one is history.
    (p, ev) => applyChangeEvent(p, ev, args),
    [qs],
  );

  if (error && !page) return <ErrorMessage error={error} />;
  if (!page) return <Loading />;
  const filtered =
    args.author.length + args.branch.length + args.repository.length + args.project.length > 0;
  return (
    <section class="page changes-page">
      <h1>Changes</h1>
      <FilterForm path="/changes" query={query} fields={FIELDS} />
      {error && <ErrorMessage error={error} />}
      {page.changes.length === 0 ? (
        <p class="muted" data-testid="no-changes">
          {filtered ? 'No change matches these filters.' : 'No changes yet.'}
        </p>
      ) : (
        <table class="list lines changes" data-testid="changes">
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Author</th>
              <th scope="col">Revision</th>
              <th scope="col">Branch</th>
              <th scope="col">Project</th>
              <th scope="col">When</th>
              <th scope="col">Comments</th>
            </tr>
          </thead>
          <tbody>
            {page.changes.map((c) => (
              <ChangeRow key={c.id} change={c} args={args} />
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Change pages">
        {args.before != null && <a href={newestUrl(args)}>« Newest changes</a>}
        {page.next_before != null && (
          <a data-testid="older" href={olderUrl(args, page.next_before)}>
            Older changes ›
          </a>
        )}
      </nav>
    </section>
  );
}
