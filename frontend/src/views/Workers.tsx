import { useEffect } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { AccessError } from '~/components/common/AccessError';
import { Loading } from '~/components/common/Message';
import { useWorkerActions } from '~/components/workers/WorkerActions';
import { WorkerRow } from '~/components/workers/WorkerRow';
import { useNow } from '~/composables/useNow';
import { useReloadOn } from '~/composables/useReloadOn';
import type { ViewProps } from '~/lazyView';
import { boolArg, pageUrl } from '~/lib/query';
import { changesWorkers } from '~/lib/workers';
import '~/components/workers/workers.css';

/** `/workers` (0.8.9's `/buildslaves`): every worker, live; `no_builders=1` hides the builders. */
export default function Workers({ query }: ViewProps) {
  useEffect(() => {
    document.title = 'Workers — Cascade';
  }, []);
  const { data, error } = useReloadOn(
    (signal) => apiGet('/workers', { signal }),
    changesWorkers,
    [],
  );
  const noBuilders = boolArg(query, 'no_builders');
  const allowed = useWorkerActions();
  const actions = allowed.pause || allowed.shutdown;
  const now = useNow(true, 5000);

  if (error && !data) return <AccessError error={error} what="see the workers" />;
  if (!data) return <Loading />;
  return (
    <section class="page workers-page">
      <h1>Workers</h1>
      <p class="muted small">
        {data.workers.filter((w) => w.connected).length} of {data.workers.length} connected ·{' '}
        <a href={pageUrl('/workers', { no_builders: !noBuilders && '1' })}>
          {noBuilders ? 'Show builders' : 'Hide builders'}
        </a>
      </p>
      {data.workers.length === 0 ? (
        <p class="muted">No workers are configured.</p>
      ) : (
        <div class="table-scroll">
          <table class="list cards workers" data-testid="workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>State</th>
                <th>Host</th>
                <th>Version</th>
                <th>Master</th>
                <th>Running</th>
                <th>Last seen</th>
                {!noBuilders && <th>Builders</th>}
                {actions && <th>Actions</th>}
              </tr>
            </thead>
            <tbody>
              {data.workers.map((w) => (
                <WorkerRow key={w.name} w={w} builders={!noBuilders} actions={actions} now={now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
