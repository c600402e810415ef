import { useEffect, useMemo, useRef } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { Builder } from '~/api/types';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { BuildBox } from '~/components/waterfall/BuildBox';
import { BuilderHeader } from '~/components/waterfall/BuilderHeader';
import { useAsync } from '~/composables/useAsync';
import { useServerEvents } from '~/composables/useServerEvents';
import type { ViewProps } from '~/lazyView';
import { clock, date } from '~/lib/time';
import { layoutWaterfall } from '~/lib/waterfallLayout';
import { dispatch, useBuildsStore } from '~/stores/buildsStore';
import { useCan } from '~/stores/session';

const DEFAULT_BUILDS = 100;

/** 0.8.9's filters: repeated `builder=` (or `show=`) and `category=` (tags) arguments. */
function visibleBuilders(builders: Builder[], query: URLSearchParams): string[] {
  const names = [...query.getAll('builder'), ...query.getAll('show')];
  const tags = query.getAll('category');
  return builders
    .filter((b) => names.length === 0 || names.includes(b.name))
    .filter((b) => tags.length === 0 || b.tags.some((t) => tags.includes(t)))
    .map((b) => b.name);
}

export default function Waterfall({ query }: ViewProps) {
  const numBuilds = Number(query.get('num_builds')) || DEFAULT_BUILDS;
  useEffect(() => {
    document.title = 'Waterfall — Cascade';
  }, []);

  const { error, loading, reload } = useAsync(
    async (signal) => {
      const r = await apiGet('/views/waterfall', {
        query: { num_builds: numBuilds },
        signal,
      });
      dispatch({ type: 'builders', builders: r.builders });
      dispatch({ type: 'builds', builds: r.builds });
      return true;
    },
    [numBuilds],
  );

  // Worker (dis)connections change builder states: refresh the builders list, debounced.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useServerEvents((ev) => {
    if (ev.type !== 'worker.connected' && ev.type !== 'worker.disconnected') return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      apiGet('/builders').then(
        (r) => dispatch({ type: 'builders', builders: r.builders }),
        () => undefined,
      );
    }, 500);
  }, reload);
  useEffect(() => () => clearTimeout(timer.current), []);

  const state = useBuildsStore((s) => s);
  const canForce = useCan('force_build');
  const builders = useMemo(
    () => state.builderOrder.map((n) => state.builders[n]),
    [state.builders, state.builderOrder],
  );
  const columns = useMemo(() => visibleBuilders(builders, query), [builders, query]);
  const layout = useMemo(
    () => layoutWaterfall(columns, Object.values(state.builds)),
    [columns, state.builds],
  );

  if (error && builders.length === 0) return <ErrorMessage error={error} />;
  if (loading && builders.length === 0) return <Loading />;
  if (builders.length === 0) return <p class="muted">No builders are configured.</p>;

  return (
    <section class="waterfall-page">
      {error && <ErrorMessage error={error} />}
      <div class="waterfall-scroll">
        <table class="waterfall" data-testid="waterfall">
          <thead>
            <tr>
              <th class="time-col">Time</th>
              {columns.map((name) => (
                <th key={name} class="builder-col">
                  <BuilderHeader builder={state.builders[name]} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {layout.rows.length === 0 && (
              <tr>
                <td class="time-col" />
                <td colSpan={columns.length} class="muted empty">
                  No builds yet.{canForce && ' Press Force to start one.'}
                </td>
              </tr>
            )}
            {layout.rows.map((row) => (
              <tr key={row.top}>
                <td class="time-col">
                  {row.showDate && <div class="date">{date(row.time)}</div>}
                  {clock(row.time)}
                </td>
                {row.cells.map((cell, i) => (
                  <td key={columns[i]} class="cell">
                    {cell.map((b) => (
                      <BuildBox key={b.number} build={b} />
                    ))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
