import { useEffect } from 'preact/hooks';
import { ApiError, apiGet } from '~/api/client';
import { AccessError } from '~/components/common/AccessError';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { RecentBuilds } from '~/components/workers/RecentBuilds';
import { WorkerActions } from '~/components/workers/WorkerActions';
import { WorkerDetails } from '~/components/workers/WorkerDetails';
import { useNow } from '~/composables/useNow';
import { useReloadOn } from '~/composables/useReloadOn';
import type { ViewProps } from '~/lazyView';
import { numberArg, pageUrl } from '~/lib/query';
import { changesWorkers } from '~/lib/workers';
import type { ServerEvent } from '~/stores/eventTypes';
import '~/components/workers/workers.css';

const DEFAULT_BUILDS = 20;

/** `/workers/{name}`: one worker, live, with its recent builds (`numbuilds=`, `offset=`). */
export default function WorkerPage({ params, query, path }: ViewProps) {
  const name = params.name;
  useEffect(() => {
    document.title = `Worker ${name} — Cascade`;
  }, [name]);
  const limit = Math.min(numberArg(query, 'numbuilds') ?? DEFAULT_BUILDS, 200) || DEFAULT_BUILDS;
  const offset = numberArg(query, 'offset') ?? 0;
  const mine = (ev: ServerEvent) =>
    changesWorkers(ev) && (ev.name === name || ev.build?.worker === name);
  const worker = useReloadOn(
    (signal) => apiGet('/workers/{name}', { params: { name }, signal }),
    mine,
    [name],
  );
  const builds = useReloadOn(
    (signal) => apiGet('/builds', { query: { worker: [name], limit, offset }, signal }),
    (ev) => ev.build?.worker === name,
    [name, limit, offset],
  );
  const now = useNow(true, 1000);

  const w = worker.data;
  if (!w) {
    const e = worker.error;
    if (e instanceof ApiError && e.status === 404)
      return (
        <section class="page notice">
          <h1>No such worker</h1>
          <p>
            No worker called <code>{name}</code> is configured. <a href="/workers">All workers</a>
          </p>
        </section>
      );
    return e ? <AccessError error={e} what="see the workers" /> : <Loading />;
  }
  const page = (o: number) =>
    pageUrl(path, { numbuilds: query.get('numbuilds'), offset: o > 0 ? o : null });
  return (
    <section class="page worker-page">
      <nav class="crumbs">
        <a href="/workers">Workers</a> › <span>{w.name}</span>
      </nav>
      <h1>Worker {w.name}</h1>
      <WorkerActions worker={w} />
      <WorkerDetails worker={w} now={now} />
      <h2>Recent builds</h2>
      {builds.error && <ErrorMessage error={builds.error} />}
      {builds.data ? <RecentBuilds builds={builds.data.builds} now={now} /> : <Loading />}
      <p class="pager">
        {offset > 0 && <a href={page(Math.max(0, offset - limit))}>« newer</a>}
        {builds.data?.next_offset != null && <a href={page(builds.data.next_offset)}>older »</a>}
      </p>
    </section>
  );
}
