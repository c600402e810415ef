import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { ApiError, apiGet } from '~/api/client';
import { AccessError } from '~/components/common/AccessError';
import { Loading } from '~/components/common/Message';
import { DeliveryBody } from '~/components/hooks/DeliveryBody';
import { ChangeIds } from '~/components/hooks/DeliveryTable';
import { HeaderTable } from '~/components/hooks/HeaderTable';
import { HttpStatus } from '~/components/hooks/HttpStatus';
import { ReplayButton } from '~/components/hooks/ReplayButton';
import { useAsync } from '~/composables/useAsync';
import type { ViewProps } from '~/lazyView';
import { dateTime } from '~/lib/time';
import { paths } from '~/router';
import { can, useSession } from '~/stores/session';

export default function HookDelivery({ params }: ViewProps) {
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id > 0;
  const { session } = useSession();
  const me = session?.username ?? null;
  const { data: d, error } = useAsync(
    (signal) =>
      valid
        ? apiGet('/hooks/deliveries/{id}', { params: { id }, signal })
        : Promise.reject(new Error('Bad delivery id.')),
    [id, me],
  );
  useEffect(() => {
    document.title = `Hook delivery ${params.id} — Cascade`;
  }, [params.id]);

  if (!valid) return <p class="error-box">Bad delivery id.</p>;
  if (!d) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <section class="page notice">
          <h1>No such delivery</h1>
          <p>
            There is no hook delivery {id}. <a href={paths.hooks()}>All deliveries</a>
          </p>
        </section>
      );
    return error ? <AccessError error={error} what="see hook deliveries" /> : <Loading />;
  }

  const fields: [string, ComponentChildren][] = [
    ['Received', dateTime(d.received_at)],
    ['Dialect', <a href={paths.hooks(d.dialect)}>{d.dialect}</a>],
    ['Event', d.event ?? '—'],
    ['Source', d.source_addr],
    ['Status', <HttpStatus status={d.status} />],
    ['Changes', <ChangeIds ids={d.change_ids} />],
    ['Content type', d.content_type ?? '—'],
    ['Body', d.body_truncated ? 'truncated' : 'complete'],
  ];
  return (
    <section class="page hook-delivery-page" data-testid="delivery" data-id={d.id}>
      <nav class="crumbs">
        <a href={paths.hooks()}>Hooks</a> › <span>{d.id}</span>
      </nav>
      <h1>Hook delivery #{d.id}</h1>
      {d.replay_of != null && (
        <p class="replay-of">
          Replays <a href={paths.hook(d.replay_of)}>delivery #{d.replay_of}</a>.
        </p>
      )}
      <p class="outcome" data-testid="delivery-outcome">
        {d.outcome}
      </p>
      <dl class="props">
        {fields.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {can(session, 'hook_deliveries') && !d.body_truncated && <ReplayButton id={d.id} />}
      <h2>Headers</h2>
      <HeaderTable headers={d.headers} />
      <h2>Body</h2>
      <DeliveryBody body={d.body} contentType={d.content_type} truncated={d.body_truncated} />
    </section>
  );
}
