import { useEffect } from 'preact/hooks';
import { apiPost, apiGet } from '~/api/client';
import { ActionButton } from '~/components/common/ActionButton';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { FilterForm, type FilterField } from '~/components/filters/FilterForm';
import { BuilderStateBox, LastBuildBox } from '~/components/waterfall/BuilderBoxes';
import { useAsync } from '~/composables/useAsync';
import { useReloadOnEvents } from '~/composables/useReloadOnEvents';
import type { ViewProps } from '~/lazyView';
import { listArg } from '~/lib/query';
import { paths } from '~/router';
import { useCan } from '~/stores/session';

/** Events after which a builder's last build, state or pending count may differ. */
const CHANGES_BUILDERS = new Set([
  'build.started',
  'build.finished',
  'buildrequest.new',
  'buildrequest.cancelled',
  'worker.connected',
  'worker.disconnected',
  'worker.paused',
  'worker.unpaused',
  'worker.stopping',
]);

/** The controls that act on every builder at once, for those allowed. */
function GlobalControls() {
  const forceAll = useCan('force_all_builds');
  const stopAll = useCan('stop_all_builds');
  const cancelAll = useCan('cancel_all_pending_builds');
  if (!forceAll && !stopAll && !cancelAll) return null;
  return (
    <div class="controls" data-testid="global-controls">
      {forceAll && (
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
      {stopAll && (
        <ActionButton
          label="Stop all builds"
          action="stop-all"
          danger
          askReason
          run={async (reason) => (await apiPost('/builds/stop', { reason })).message}
        />
      )}
      {cancelAll && (
        <ActionButton
          label="Cancel all pending"
          action="cancel-all"
          danger
          askReason
          run={async (reason) => (await apiPost('/buildrequests/cancel', { reason })).message}
        />
      )}
    </div>
  );
}

/** `/builders`: one summary box per builder: its last build, what it does now, what waits. */
export default function Builders({ query, path }: ViewProps) {
  useEffect(() => {
    document.title = 'Builders — Cascade';
  }, []);
  const builder = listArg(query, 'builder');
  const branch = listArg(query, 'branch');
  const key = query.toString();
  const list = useAsync(
    (signal) => apiGet('/builders', { query: { builder, branch }, signal }),
    [key],
  );
  useReloadOnEvents(list.reload, (ev) => CHANGES_BUILDERS.has(ev.type));
  const fields: FilterField[] = [
    { name: 'builder', label: 'Builders', kind: 'text', placeholder: 'a, b' },
    { name: 'branch', label: 'Branches', kind: 'text', placeholder: 'main' },
  ];
  const builders = list.data?.builders ?? [];

  return (
    <section class="page builders-page">
      <h1>Builders</h1>
      <FilterForm path={path} query={query} fields={fields} />
      <GlobalControls />
      {list.error && <ErrorMessage error={list.error} />}
      {!list.data && !list.error ? (
        <Loading />
      ) : builders.length === 0 ? (
        <p class="muted">No builder matches.</p>
      ) : (
        <table class="list builders-table" data-testid="builders">
          <thead>
            <tr>
              <th scope="col">Builder</th>
              <th scope="col">Last build{branch.length ? ` on ${branch.join(', ')}` : ''}</th>
              <th scope="col">Now</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {builders.map((b) => (
              <tr key={b.name} data-builder={b.name}>
                <th scope="row">
                  <a href={paths.builder(b.name)}>{b.name}</a>
                  {b.description && <div class="muted small">{b.description}</div>}
                </th>
                <td>
                  <LastBuildBox builder={b} />
                </td>
                <td data-testid="builder-state">
                  <BuilderStateBox builder={b} />
                </td>
                <td class="small">{b.tags.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
