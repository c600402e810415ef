import { useEffect, useMemo } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { apiGet } from '~/api/client';
import { MasterList } from '~/components/about/MasterList';
import { ShutdownControls } from '~/components/about/ShutdownControls';
import { AccessError } from '~/components/common/AccessError';
import { Loading } from '~/components/common/Message';
import { useNow } from '~/composables/useNow';
import { useReloadOn } from '~/composables/useReloadOn';
import type { ViewProps } from '~/lazyView';
import { dateTime } from '~/lib/time';
import { formatBytes, uptime } from '~/lib/workers';
import type { ServerEvent } from '~/stores/eventTypes';
import { useCan } from '~/stores/session';
import '~/components/workers/workers.css';

const DATABASES: Record<string, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

function changesMaster(ev: ServerEvent): boolean {
  return (
    ev.type.startsWith('master.') || ev.type === 'build.started' || ev.type === 'build.finished'
  );
}

function Item({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** `/about`: this master, what it is built from, its database, its fellow masters and shutdown. */
export default function About(_: ViewProps) {
  useEffect(() => {
    document.title = 'About — Cascade';
  }, []);
  const { data: m, error } = useReloadOn(
    (signal) => apiGet('/master', { signal }),
    changesMaster,
    [],
  );
  const canShutdown = useCan('clean_shutdown');
  const now = useNow(true, 1000);
  // The server's uptime when it answered, counted on from then.
  const answeredAt = useMemo(() => Date.now(), [m]);

  if (error && !m) return <AccessError error={error} what="see this master" />;
  if (!m) return <Loading />;
  return (
    <section class="page about-page">
      <h1>About Cascade</h1>
      <p class="lead">
        Cascade <span data-testid="version">{m.version}</span>, a continuous-integration master with
        Buildbot&apos;s status targets.
      </p>
      <h2>This master</h2>
      <dl class="facts" data-testid="master">
        <Item term="Name">{m.name}</Item>
        <Item term="State">
          {m.shutting_down ? (
            <strong class="shutting-down" data-testid="master-state">
              shutting down: waiting for {m.running_builds} running build
              {m.running_builds === 1 ? '' : 's'}
            </strong>
          ) : (
            <span data-testid="master-state">running</span>
          )}
        </Item>
        <Item term="Started">{dateTime(m.started_at)}</Item>
        <Item term="Uptime">
          <span data-testid="uptime">{uptime(m.uptime + (now - answeredAt) / 1000)}</span>
        </Item>
        <Item term="Running builds">{m.running_builds}</Item>
        <Item term="Database">
          <span data-testid="database">
            {DATABASES[m.database] ?? m.database} {m.database_version},{' '}
            {formatBytes(m.database_size)}
          </span>
        </Item>
      </dl>
      {canShutdown && <ShutdownControls master={m} />}
      <h2>Built with</h2>
      <table class="list" data-testid="libraries">
        <thead>
          <tr>
            <th>Library</th>
            <th>Version</th>
          </tr>
        </thead>
        <tbody>
          {m.libraries.map((l) => (
            <tr key={l.name} data-library={l.name}>
              <td>{l.name}</td>
              <td>
                <code>{l.version}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Masters</h2>
      <MasterList masters={m.masters} now={now} />
    </section>
  );
}
