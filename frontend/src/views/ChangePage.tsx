import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { ApiError, apiGet, apiPost } from '~/api/client';
import type { Change } from '~/api/types';
import { BuildTable } from '~/components/build/BuildTable';
import { CommentText } from '~/components/changes/CommentText';
import { ProjectLink } from '~/components/changes/ProjectLink';
import { RevisionLink } from '~/components/changes/RevisionLink';
import { ActionButton } from '~/components/common/ActionButton';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { useLiveView } from '~/composables/useLiveView';
import type { ViewProps } from '~/lazyView';
import { applyChangeBuildEvent } from '~/lib/changes';
import { propertyText } from '~/lib/oneLine';
import { pageUrl } from '~/lib/query';
import { dateTime } from '~/lib/time';
import { useCan } from '~/stores/session';

function facts(c: Change): [string, ComponentChildren][] {
  const none = <span class="muted">—</span>;
  return [
    [
      'Author',
      <a href={pageUrl('/changes', { author: c.author })} title="This author's changes">
        {c.author}
      </a>,
    ],
    ['Committer', c.committer || none],
    ['Revision', c.revision ? <RevisionLink revision={c.revision} href={c.revlink} full /> : none],
    ['Branch', c.branch || <span class="muted">default</span>],
    [
      'Repository',
      c.repository ? <ProjectLink name={c.repository} href={c.repository_url} /> : none,
    ],
    ['Project', c.project ? <ProjectLink name={c.project} href={c.project_url} /> : none],
    ['Codebase', c.codebase || none],
    ['Category', c.category || none],
    ['When', dateTime(c.when)],
    ['Received', dateTime(c.received_at)],
  ];
}

function Properties({ properties }: { properties: unknown }) {
  const entries = Object.entries((properties ?? {}) as Record<string, unknown>);
  if (entries.length === 0) return <p class="muted">None.</p>;
  return (
    <table class="list" data-testid="change-properties">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              <code>{propertyText(v) ?? 'null'}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `/changes/{n}`: one change, and every build that contains it as they run. */
export default function ChangePage({ params }: ViewProps) {
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id > 0;
  useEffect(() => {
    document.title = `Change ${params.id} — Cascade`;
  }, [params.id]);
  const { data, error } = useLiveView(
    async (signal) => {
      if (!valid) throw new Error('A change number is a positive whole number.');
      const [change, list] = await Promise.all([
        apiGet('/changes/{id}', { params: { id }, signal }),
        apiGet('/builds', { query: { change: id, limit: 1000 }, signal }),
      ]);
      return { change, builds: list.builds };
    },
    (state, ev) => {
      const builds = applyChangeBuildEvent(state.builds, ev, id);
      return builds === state.builds ? state : { ...state, builds };
    },
    [id],
  );
  const canStop = useCan('stop_change');

  if (!data) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <section class="page notice">
          <h1>No such change</h1>
          <p>
            The master has no change {params.id}. <a href="/changes">See every change</a>
          </p>
        </section>
      );
    return error ? <ErrorMessage error={error} /> : <Loading />;
  }
  const { change: c, builds } = data;
  return (
    <section class="page change-page" data-testid="change-page" data-change={c.id}>
      <nav class="crumbs">
        <a href="/changes">Changes</a> › <span>{c.id}</span>
      </nav>
      <h1>Change {c.id}</h1>
      <dl class="props change-props" data-testid="change-props">
        {facts(c).map(([k, v]) => (
          <div key={k} data-fact={k.toLowerCase()}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h2>Comments</h2>
      <p class="comments" data-testid="change-comments">
        <CommentText change={c} />
      </p>
      <h2>Files</h2>
      {c.files.length === 0 ? (
        <p class="muted">No files listed.</p>
      ) : (
        <ul class="files" data-testid="change-files">
          {c.files.map((f) => (
            <li key={f}>
              <code>{f}</code>
            </li>
          ))}
        </ul>
      )}
      <h2>Properties</h2>
      <Properties properties={c.properties} />
      <h2>Builds</h2>
      {error && <ErrorMessage error={error} />}
      {canStop && (
        <div class="stop-change" data-testid="stop-change">
          <ActionButton
            label="Stop builds of this change"
            action="stop-change"
            askReason
            requireReason
            reasonLabel="Why stop them?"
            confirm="Stop builds"
            explain="Cancels its pending build requests and stops its running builds."
            danger
            run={async (reason) =>
              (await apiPost('/changes/{id}/stop', { reason }, { params: { id: c.id } })).message
            }
          />
        </div>
      )}
      {builds.length === 0 ? (
        <p class="muted" data-testid="no-builds">
          No build contains this change yet.
        </p>
      ) : (
        <BuildTable builds={builds} source={false} />
      )}
    </section>
  );
}
