import { Fragment } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { Builder } from '~/api/types';
import { CommentText } from '~/components/changes/CommentText';
import { ProjectLink } from '~/components/changes/ProjectLink';
import { RevisionLink } from '~/components/changes/RevisionLink';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { ConsoleCell } from '~/components/console/ConsoleCell';
import { FailedSteps } from '~/components/console/FailedSteps';
import { FilterForm, type FilterField } from '~/components/filters/FilterForm';
import { StatusBox } from '~/components/results/StatusBox';
import { useBuilders } from '~/composables/useBuilders';
import { useLiveView } from '~/composables/useLiveView';
import type { ViewProps } from '~/lazyView';
import { applyConsoleEvent, groupColumns, type ConsoleFilters } from '~/lib/console';
import { listArg, numberArg, pageUrl } from '~/lib/query';
import { statusOf } from '~/lib/results';
import { dateTime } from '~/lib/time';
import { paths } from '~/router';
import { useBuildsStore } from '~/stores/buildsStore';

function fields(all: Builder[]): FilterField[] {
  const tags = [...new Set(all.flatMap((b) => b.tags))].sort();
  return [
    { name: 'builder', label: 'Builders', kind: 'choices', choices: all.map((b) => b.name) },
    { name: 'category', label: 'Categories', kind: 'choices', choices: tags },
    { name: 'repository', label: 'Repositories', kind: 'text' },
    { name: 'branch', label: 'Branches', kind: 'text', placeholder: 'main' },
    { name: 'project', label: 'Projects', kind: 'text' },
    { name: 'codebase', label: 'Codebases', kind: 'text' },
    { name: 'name', label: 'Authors', kind: 'text', placeholder: 'Ann <ann@example.org>' },
    { name: 'revs', label: 'Changes', kind: 'number', placeholder: '40' },
  ];
}

/** 0.8.9's "slave line": offline, or the class of the builder's last finished build. */
function BuilderLine({ builder }: { builder: Builder }) {
  if (builder.state === 'offline')
    return <StatusBox status="offline" class="tiny" title="offline" bare />;
  const last = builder.last_build;
  return last ? (
    <a class="box-link" href={paths.build(last.builder, last.number)}>
      <StatusBox
        status={statusOf(last)}
        class="tiny"
        title={`#${last.number}: ${last.state_text}`}
        bare
      />
    </a>
  ) : (
    <StatusBox status="start" class="tiny" title="no builds yet" bare />
  );
}

export default function Console({ query }: ViewProps) {
  const qs = query.toString();
  const filters: ConsoleFilters = useMemo(
    () => ({
      repositories: listArg(query, 'repository'),
      branches: listArg(query, 'branch'),
      projects: listArg(query, 'project'),
      codebases: listArg(query, 'codebase'),
      names: listArg(query, 'name'),
      revs: Math.min(200, Math.max(1, numberArg(query, 'revs') ?? 40)),
    }),
    [qs],
  );
  useEffect(() => {
    document.title = 'Console — Cascade';
  }, []);
  const { builders: all } = useBuilders();
  const { data: page, error } = useLiveView(
    (signal) =>
      apiGet('/views/console', {
        query: {
          builder: listArg(query, 'builder'),
          category: listArg(query, 'category'),
          repository: filters.repositories,
          branch: filters.branches,
          project: filters.projects,
          codebase: filters.codebases,
          name: filters.names,
          revs: filters.revs,
        },
        signal,
      }),
    (p, ev) => applyConsoleEvent(p, ev, filters),
    [qs],
  );
  const live = useBuildsStore((s) => s.builders);

  if (error && !page) return <ErrorMessage error={error} />;
  if (!page) return <Loading />;
  const builders = page.builders.map((b) => ({ ...b, ...(live[b.name] ?? {}) }));
  const groups = groupColumns(builders);
  const order = groups.flatMap((g) => g.columns);

  return (
    <section class="console-page">
      <FilterForm path="/console" query={query} fields={fields(all)} />
      {error && <ErrorMessage error={error} />}
      {builders.length === 0 ? (
        <p class="muted">No builder matches these filters.</p>
      ) : (
        <div class="console-scroll">
          <table class="console" data-testid="console">
            <thead>
              <tr>
                <th rowSpan={2} class="change-col">
                  Change
                </th>
                {groups.map((g) => (
                  <th key={g.category} colSpan={g.columns.length} class="category" scope="colgroup">
                    {g.category || 'other'}
                  </th>
                ))}
              </tr>
              <tr>
                {order.map((i) => (
                  <th
                    key={builders[i].name}
                    class="console-builder"
                    data-builder={builders[i].name}
                  >
                    <a href={paths.builder(builders[i].name)} title={builders[i].name}>
                      <span>{builders[i].name}</span>
                    </a>
                    <BuilderLine builder={builders[i]} />
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page.rows.length === 0 && (
                <tr>
                  <td colSpan={order.length + 1} class="muted empty">
                    No changes yet.
                  </td>
                </tr>
              )}
              {page.rows.map((row) => (
                <Fragment key={row.change.id}>
                  <tr data-testid="console-row" data-change={row.change.id}>
                    <td class="change-col">
                      <div class="change-head">
                        <a
                          href={pageUrl('/console', {
                            ...Object.fromEntries(
                              [...new Set(query.keys())].map((k) => [k, query.getAll(k)]),
                            ),
                            name: [row.change.author],
                          })}
                          class="change-author"
                          title="Only this author's changes"
                        >
                          {row.change.author}
                        </a>{' '}
                        <RevisionLink revision={row.change.revision} href={row.change.revlink} />
                        {row.change.branch && <span class="muted"> {row.change.branch}</span>}
                      </div>
                      <div class="change-comment">
                        <CommentText change={row.change} />
                      </div>
                      <div class="change-meta muted">
                        <a
                          href={paths.change(row.change.id)}
                          class="change-link"
                          title={`Change ${row.change.id}: files, properties and builds`}
                        >
                          {dateTime(row.change.when)}
                        </a>
                        {row.change.project && ' · '}
                        <ProjectLink name={row.change.project} href={row.change.project_url} />{' '}
                        {row.change.repository_url && (
                          <ProjectLink name="repository" href={row.change.repository_url} />
                        )}
                      </div>
                    </td>
                    {order.map((i) => (
                      <ConsoleCell
                        key={builders[i].name}
                        builder={builders[i]}
                        box={row.boxes[i]}
                      />
                    ))}
                  </tr>
                  {row.boxes.some(
                    (b) =>
                      (b.class === 'failure' || b.class === 'failure-again') &&
                      b.failed_steps.length > 0,
                  ) && (
                    <tr class="details-row">
                      <td colSpan={order.length + 1}>
                        <FailedSteps row={row} builders={builders} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
