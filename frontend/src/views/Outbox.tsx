import { useEffect, useState } from 'preact/hooks';
import { apiDelete, apiGet, apiPost } from '~/api/client';
import type { OutboxMessage, OutboxState } from '~/api/types';
import { AccessError } from '~/components/common/AccessError';
import { ActionButton } from '~/components/common/ActionButton';
import { Loading } from '~/components/common/Message';
import { useAsync } from '~/composables/useAsync';
import { useReloadOnEvents } from '~/composables/useReloadOnEvents';
import type { ViewProps } from '~/lazyView';
import { dateTime } from '~/lib/time';
import { paths } from '~/router';
import { useSession } from '~/stores/session';

/** Messages shown at once, newest first. */
export const PAGE = 100;

const STATES: OutboxState[] = ['pending', 'sent', 'failed'];

function stateOf(value: string | null): OutboxState | undefined {
  return STATES.find((s) => s === value);
}

/** What a message is about: the build it reports, when its payload names one. */
export function About({ m }: { m: OutboxMessage }) {
  const p = (typeof m.payload === 'object' && m.payload !== null ? m.payload : {}) as Record<
    string,
    unknown
  >;
  const builder = typeof p.builder === 'string' ? p.builder : undefined;
  const number = typeof p.number === 'number' ? p.number : undefined;
  const results = typeof p.results === 'string' ? ` (${p.results})` : '';
  if (builder !== undefined && number !== undefined) {
    return (
      <>
        <a href={paths.build(builder, number)}>
          {builder} #{number}
        </a>
        {results}
      </>
    );
  }
  if (typeof p.buildset === 'number')
    return (
      <>
        build set {p.buildset}
        {results}
      </>
    );
  return <>{m.key ?? ''}</>;
}

function Row({ m, changed }: { m: OutboxMessage; changed: () => void }) {
  return (
    <tr data-id={m.id}>
      <td>{m.id}</td>
      <td>{m.reporter}</td>
      <td class="outbox-about">
        <About m={m} />
      </td>
      <td class={`outbox-${m.state}`}>{m.state}</td>
      <td>{dateTime(m.created_at)}</td>
      <td>{m.attempts}</td>
      <td>{m.state === 'pending' ? dateTime(m.next_attempt_at) : ''}</td>
      <td class="small">{m.last_error ?? ''}</td>
      <td>
        {m.state !== 'sent' && (
          <ActionButton
            label="Retry"
            action="retry"
            title="Send this message again now"
            run={async () => {
              await apiPost('/outbox/{id}/retry', undefined, { params: { id: m.id } });
              changed();
              return 'Retrying';
            }}
          />
        )}
        <ActionButton
          label="Drop"
          action="drop"
          danger
          title="Delete this message; it is never sent"
          run={async () => {
            const answer = await apiDelete('/outbox/{id}', { params: { id: m.id } });
            changed();
            return answer.message;
          }}
        />
      </td>
    </tr>
  );
}

export default function Outbox({ query }: ViewProps) {
  const state = stateOf(query.get('state'));
  const [version, setVersion] = useState(0);
  useEffect(() => {
    document.title = `${state ? `${state} messages` : 'Outbox'} — Cascade`;
  }, [state]);
  const { session } = useSession();
  // Load again when someone logs in or out, and after a retry or a drop.
  const me = session?.username ?? null;
  const { data, error, loading } = useAsync(
    (signal) => apiGet('/outbox', { query: { state, limit: PAGE }, signal }),
    [state, me, version],
  );

  // Builds starting and finishing are what reporters write messages about; their sending
  // follows within moments, so the page looks again a second later.
  useReloadOnEvents(
    () => setVersion((v) => v + 1),
    (ev) => ev.type === 'build.started' || ev.type === 'build.finished',
    1000,
  );

  if (error && !data) return <AccessError error={error} what="see the outbox" />;
  if (!data) return loading ? <Loading /> : null;
  const changed = () => setVersion((v) => v + 1);
  return (
    <section class="page outbox-page">
      <h1>Outbox</h1>
      <nav class="filter state-filter" aria-label="State">
        <a href={paths.outbox()} class={state ? undefined : 'active'}>
          all
        </a>
        {STATES.map((s) => (
          <a key={s} href={paths.outbox(s)} class={state === s ? 'active' : undefined}>
            {s}
          </a>
        ))}
      </nav>
      {data.messages.length === 0 ? (
        <p class="muted">No messages{state ? ` ${state}` : ''}.</p>
      ) : (
        <table class="list outbox-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Reporter</th>
              <th>About</th>
              <th>State</th>
              <th>Enqueued</th>
              <th>Attempts</th>
              <th>Next attempt</th>
              <th>Last error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data.messages.map((m) => (
              <Row key={m.id} m={m} changed={changed} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
