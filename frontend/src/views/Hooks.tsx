import { useEffect } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { AccessError } from '~/components/common/AccessError';
import { Loading } from '~/components/common/Message';
import { DeliveryTable } from '~/components/hooks/DeliveryTable';
import { DialectFilter } from '~/components/hooks/DialectFilter';
import { useAsync } from '~/composables/useAsync';
import type { ViewProps } from '~/lazyView';
import { offsetParam } from '~/lib/hooks';
import { paths } from '~/router';
import { useSession } from '~/stores/session';

/** Deliveries per page. */
export const PAGE = 50;

export default function Hooks({ query }: ViewProps) {
  const dialect = query.get('dialect') ?? '';
  const offset = offsetParam(query.get('offset'));
  useEffect(() => {
    document.title = `${dialect ? `${dialect} hooks` : 'Hooks'} — Cascade`;
  }, [dialect]);
  const { session } = useSession();
  // Load again when someone logs in or out.
  const me = session?.username ?? null;
  const { data, error, loading } = useAsync(
    (signal) => apiGet('/hooks/deliveries', { query: { dialect, limit: PAGE, offset }, signal }),
    [dialect, offset, me],
  );

  if (error && !data) return <AccessError error={error} what="see hook deliveries" />;
  if (!data) return loading ? <Loading /> : null;
  const { deliveries } = data;
  return (
    <section class="page hooks-page">
      <h1>Change hook deliveries</h1>
      <DialectFilter key={dialect} dialect={dialect} />
      {deliveries.length === 0 ? (
        <p class="muted">
          {offset > 0 ? 'No older deliveries.' : 'No change hook requests have arrived yet.'}
        </p>
      ) : (
        <DeliveryTable deliveries={deliveries} />
      )}
      <p class="pager">
        {offset > 0 && <a href={paths.hooks(dialect, Math.max(0, offset - PAGE))}>« newer</a>}
        {deliveries.length === PAGE && <a href={paths.hooks(dialect, offset + PAGE)}>older »</a>}
      </p>
    </section>
  );
}
