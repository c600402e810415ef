import { useEffect } from 'preact/hooks';
import { ApiError, apiPost } from '~/api/client';
import type { BuildPage as Page, Change } from '~/api/types';
import { BuildHeader } from '~/components/build/BuildHeader';
import { StepList } from '~/components/build/StepList';
import { ActionButton } from '~/components/common/ActionButton';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { ChangeBox } from '~/components/changes/ChangeBox';
import { ProjectLink } from '~/components/changes/ProjectLink';
import { RevisionLink } from '~/components/changes/RevisionLink';
import { useAsync } from '~/composables/useAsync';
import { useNow } from '~/composables/useNow';
import { useReloadOnEvents } from '~/composables/useReloadOnEvents';
import { useServerEvents } from '~/composables/useServerEvents';
import type { ViewProps } from '~/lazyView';
import { safeHref } from '~/lib/links';
import { paths } from '~/router';
import { buildKey } from '~/stores/builds';
import { loadBuild, useBuildsStore } from '~/stores/buildsStore';
import { useCan } from '~/stores/session';

/** The authors of the build's changes, each once, linked to their newest change. */
function Blamelist({ changes }: { changes: readonly Change[] }) {
  const newest = new Map<string, Change>();
  for (const c of changes) newest.set(c.author, c);
  if (newest.size === 0) return <span class="muted">nobody (no changes)</span>;
  return (
    <span data-testid="blamelist">
      {[...newest.values()].map((c, i) => (
        <span key={c.author}>
          {i > 0 && ', '}
          <a href={`/changes/${c.id}`}>{c.author}</a>
        </span>
      ))}
    </span>
  );
}

function SourceStamps({ page }: { page: Page }) {
  if (page.sourcestamps.length === 0) return <p class="muted">The default source.</p>;
  return (
    <table class="list" data-testid="sourcestamps">
      <thead>
        <tr>
          <th scope="col">Codebase</th>
          <th scope="col">Repository</th>
          <th scope="col">Branch</th>
          <th scope="col">Revision</th>
          <th scope="col">Project</th>
        </tr>
      </thead>
      <tbody>
        {page.sourcestamps.map((s, i) => {
          const repo = safeHref(s.repository_url);
          return (
            <tr key={i}>
              <td>{s.codebase || <span class="muted">default</span>}</td>
              <td class="small">
                {repo ? <a href={repo}>{s.repository}</a> : s.repository || '—'}
              </td>
              <td>{s.branch ?? <span class="muted">default</span>}</td>
              <td>
                <RevisionLink revision={s.revision ?? undefined} href={s.revlink ?? undefined} />
              </td>
              <td>
                {s.project ? (
                  <ProjectLink name={s.project} href={s.project_url ?? undefined} />
                ) : (
                  '—'
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Properties({ page }: { page: Page }) {
  const props = Object.entries((page.properties ?? {}) as Record<string, unknown>);
  if (props.length === 0) return <p class="muted">No properties.</p>;
  return (
    <table class="list props-table" data-testid="properties">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
          <th scope="col">Source</th>
        </tr>
      </thead>
      <tbody>
        {props.map(([k, v]) => (
          <tr key={k} data-property={k}>
            <td>{k}</td>
            <td class="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</td>
            <td class="muted small">{page.property_sources[k] ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `/builders/{b}/builds/{n}`: one build, what it built, why, and its steps. */
export default function BuildPage({ params }: ViewProps) {
  const builder = params.builder;
  const number = Number(params.number);
  useEffect(() => {
    document.title = `${builder} #${number} — Cascade`;
  }, [builder, number]);

  // One fetch gives both parts: the live part (state, steps, logs) goes into the builds
  // store, which follows the event stream; the rest (source stamps, properties, changes)
  // is fetched again when the build ends or the stream reconnects.
  const page = useAsync(() => loadBuild(builder, number), [builder, number]);
  const { error, reload } = page;
  useServerEvents(() => undefined, reload);
  useReloadOnEvents(
    reload,
    (ev) => ev.type === 'build.finished' && ev.builder === builder && ev.build?.number === number,
  );
  const build = useBuildsStore((s) => s.builds[buildKey(builder, number)]);
  const now = useNow(build != null && !build.complete);
  const canStop = useCan('stop_build');
  const canRebuild = useCan('force_build');

  if (!Number.isInteger(number)) return <p class="error-box">Bad build number.</p>;
  if (!build) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <section class="page notice">
          <h1>No such build</h1>
          <p>
            {builder} has no build #{number}. <a href="/waterfall">Back to the waterfall</a>
          </p>
        </section>
      );
    return error ? <ErrorMessage error={error} /> : <Loading />;
  }
  const data = page.data;
  return (
    <section class="page build-page">
      <nav class="crumbs">
        <a href="/builders">Builders</a> › <a href={paths.builder(builder)}>{builder}</a> ›{' '}
        <span>#{number}</span>
      </nav>
      <BuildHeader build={build} owner={data?.owner ?? undefined} />
      {((!build.complete && canStop) || canRebuild) && (
        <div class="controls" data-testid="build-controls">
          {!build.complete && canStop && (
            <ActionButton
              label="Stop"
              action="stop"
              danger
              askReason
              defaultReason="stopped from the web"
              run={async (reason) =>
                (
                  await apiPost(
                    '/builders/{name}/builds/{number}/stop',
                    { reason },
                    { params: { name: builder, number } },
                  )
                ).message
              }
            />
          )}
          {canRebuild && (
            <ActionButton
              label="Rebuild"
              action="rebuild"
              askReason
              defaultReason={`rebuild of #${number}`}
              title="Queue the same source stamps and properties again"
              run={async (reason) => {
                await apiPost(
                  '/builders/{name}/builds/{number}/rebuild',
                  { reason },
                  { params: { name: builder, number } },
                );
                return 'Rebuild requested';
              }}
            />
          )}
        </div>
      )}
      <h2>Steps</h2>
      <StepList build={build} now={now} />
      {data && (
        <>
          <h2>Source</h2>
          <SourceStamps page={data} />
          <h2>Blamelist</h2>
          <p>
            <Blamelist changes={data.changes ?? []} />
          </p>
          {(data.changes ?? []).length > 0 && (
            <>
              <h2>Changes</h2>
              <div class="change-list" data-testid="build-changes">
                {(data.changes ?? []).map((c) => (
                  <ChangeBox key={c.id} change={c} />
                ))}
              </div>
            </>
          )}
          <h2>Properties</h2>
          <Properties page={data} />
        </>
      )}
    </section>
  );
}
