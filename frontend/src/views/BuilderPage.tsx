import { useEffect } from 'preact/hooks';
import { ApiError, apiDelete, apiGet, apiPost } from '~/api/client';
import type { Builder, BuildRequest, Worker } from '~/api/types';
import { BuildTable } from '~/components/build/BuildTable';
import { BuilderPlots } from '~/components/builders/BuilderPlots';
import { ForceForm } from '~/components/build/ForceForm';
import { ActionButton } from '~/components/common/ActionButton';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { PropertyFilter } from '~/components/filters/PropertyFilter';
import { StatusBox } from '~/components/results/StatusBox';
import { BuilderStateBox, LastBuildBox } from '~/components/waterfall/BuilderBoxes';
import { useAsync } from '~/composables/useAsync';
import { useReloadOnEvents } from '~/composables/useReloadOnEvents';
import type { ViewProps } from '~/lazyView';
import { oneLineArgs, oneLineQuery } from '~/lib/oneLine';
import { dateTime } from '~/lib/time';
import { useCan } from '~/stores/session';

const WORKER_EVENTS = new Set([
  'worker.connected',
  'worker.disconnected',
  'worker.paused',
  'worker.unpaused',
  'worker.stopping',
]);

function workerState(w: Worker | undefined) {
  if (!w || !w.connected) return <StatusBox status="offline">offline</StatusBox>;
  if (w.graceful) return <StatusBox status="paused">shutting down</StatusBox>;
  if (w.paused) return <StatusBox status="paused">paused</StatusBox>;
  if (w.running_builds > 0)
    return <StatusBox status="running">building ({w.running_builds})</StatusBox>;
  return <StatusBox status="idle">idle</StatusBox>;
}

function Workers({ builder, workers }: { builder: Builder; workers: Worker[] }) {
  const byName = new Map(workers.map((w) => [w.name, w]));
  return (
    <ul class="worker-list" data-testid="builder-workers">
      {builder.workers.map((name) => (
        <li key={name} data-worker={name}>
          <a href={`/workers/${encodeURIComponent(name)}`}>{name}</a>{' '}
          {workerState(byName.get(name))}
        </li>
      ))}
    </ul>
  );
}

function Pending({ builder, requests }: { builder: string; requests: BuildRequest[] }) {
  const canCancel = useCan('cancel_pending_build');
  const canCancelAll = useCan('cancel_all_pending_builds');
  if (requests.length === 0) return <p class="muted">Nothing waits.</p>;
  return (
    <>
      <table class="list" data-testid="pending">
        <thead>
          <tr>
            <th scope="col">Request</th>
            <th scope="col">Queued</th>
            <th scope="col">Reason</th>
            {canCancel && <th scope="col" />}
          </tr>
        </thead>
        <tbody>
          {requests.map((r) => (
            <tr key={r.id} data-request={r.id}>
              <td>#{r.id}</td>
              <td class="small">{dateTime(r.submitted_at)}</td>
              <td class="small reason">{r.reason}</td>
              {canCancel && (
                <td>
                  <ActionButton
                    label="Cancel"
                    action="cancel"
                    danger
                    run={async () =>
                      (
                        await apiDelete('/buildrequests/{id}', {
                          params: { id: r.id },
                          query: { reason: 'cancelled from the web' },
                        })
                      ).message
                    }
                  />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canCancelAll && requests.length > 1 && (
        <ActionButton
          label="Cancel all pending"
          action="cancel-all"
          danger
          askReason
          run={async (reason) =>
            (await apiPost('/buildrequests/cancel', { builder, reason })).message
          }
        />
      )}
    </>
  );
}

function pingMessage(r: {
  workers: { worker: string; replied: boolean; rtt_ms?: number | null; error?: string | null }[];
}) {
  if (r.workers.length === 0) return 'no worker to ping';
  return r.workers
    .map((w) =>
      w.replied
        ? `${w.worker} answered in ${w.rtt_ms ?? '?'} ms`
        : `${w.worker}: ${w.error ?? 'no answer'}`,
    )
    .join('; ');
}

/** `/builders/{b}`: the builder, its workers, what waits, the force form and its builds. */
export default function BuilderPage({ params, query, path }: ViewProps) {
  const name = params.builder;
  useEffect(() => {
    document.title = `${name} — Cascade`;
  }, [name]);
  const key = query.toString();

  const builder = useAsync(
    (signal) => apiGet('/builders/{name}', { params: { name }, signal }),
    [name],
  );
  const workers = useAsync((signal) => apiGet('/workers', { signal }), [name]);
  const pending = useAsync(
    (signal) => apiGet('/buildrequests', { query: { builder: name }, signal }),
    [name],
  );
  const builds = useAsync(
    (signal) =>
      apiGet('/views/one_line_per_build', {
        query: oneLineQuery({ ...oneLineArgs(query), builder: [name] }),
        signal,
      }),
    [name, key],
  );
  useReloadOnEvents(
    () => {
      builder.reload();
      pending.reload();
      builds.reload();
    },
    (ev) => ev.builder === name,
  );
  useReloadOnEvents(workers.reload, (ev) => WORKER_EVENTS.has(ev.type));

  const canForce = useCan('force_build');
  const canForceAll = useCan('force_all_builds');
  const canPing = useCan('ping_builder');
  const canStopAll = useCan('stop_all_builds');

  if (builder.error) {
    if (builder.error instanceof ApiError && builder.error.status === 404)
      return (
        <section class="page notice">
          <h1>No such builder</h1>
          <p>
            There is no builder named “{name}”. <a href="/builders">All builders</a>
          </p>
        </section>
      );
    return <ErrorMessage error={builder.error} />;
  }
  const b = builder.data;
  if (!b) return <Loading />;
  return (
    <section class="page builder-page" data-builder={name}>
      <nav class="crumbs">
        <a href="/builders">Builders</a> › <span>{name}</span>
      </nav>
      <header class="builder-page-head">
        <h1>{name}</h1>
        {b.description && <p class="description">{b.description}</p>}
        <div class="builder-now">
          <LastBuildBox builder={b} /> <BuilderStateBox builder={b} />
        </div>
        {b.tags.length > 0 && (
          <p class="tags">
            {b.tags.map((t) => (
              <span key={t} class="chip">
                {t}
              </span>
            ))}
          </p>
        )}
      </header>
      <div class="builder-columns">
        <section aria-labelledby="workers-h">
          <h2 id="workers-h">Workers</h2>
          {workers.error ? (
            <ErrorMessage error={workers.error} />
          ) : (
            <Workers builder={b} workers={workers.data?.workers ?? []} />
          )}
          {(canPing || canStopAll || canForceAll) && (
            <div class="controls">
              {canPing && (
                <ActionButton
                  label="Ping"
                  action="ping"
                  title="Ask each worker of this builder to answer"
                  run={async () =>
                    pingMessage(await apiPost('/builders/{name}/ping', {}, { params: { name } }))
                  }
                />
              )}
              {canStopAll && b.running > 0 && (
                <ActionButton
                  label="Stop its builds"
                  action="stop-all"
                  danger
                  askReason
                  run={async (reason) =>
                    (await apiPost('/builds/stop', { reason }, { query: { builder: name } }))
                      .message
                  }
                />
              )}
              {canForceAll && (
                <ActionButton
                  label="Force all builders"
                  action="force-all"
                  askReason
                  defaultReason="forced from the web"
                  run={async (reason) =>
                    (await apiPost('/builders/_all/force', { reason: reason || undefined })).message
                  }
                />
              )}
            </div>
          )}
        </section>
        <section aria-labelledby="pending-h">
          <h2 id="pending-h">Pending{b.pending > 0 ? ` (${b.pending})` : ''}</h2>
          {pending.error ? (
            <ErrorMessage error={pending.error} />
          ) : (
            <Pending builder={name} requests={pending.data?.buildrequests ?? []} />
          )}
        </section>
        {canForce && b.can_force && (
          <section aria-labelledby="force-h">
            <h2 id="force-h">Force a build</h2>
            <ForceForm builder={name} />
          </section>
        )}
      </div>
      <section aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        <BuilderPlots builder={name} version={b.last_build?.number ?? 0} />
      </section>
      <section aria-labelledby="builds-h">
        <h2 id="builds-h">Last {builds.data?.numbuilds ?? ''} builds</h2>
        <PropertyFilter path={path} query={query} />
        {builds.error ? (
          <ErrorMessage error={builds.error} />
        ) : !builds.data ? (
          <Loading />
        ) : (
          <BuildTable builds={builds.data.builds} builder={false} />
        )}
      </section>
    </section>
  );
}
