import { useEffect } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { BuilderStateBox, LastBuildBox } from '~/components/waterfall/BuilderBoxes';
import { useAsync } from '~/composables/useAsync';
import type { ViewProps } from '~/lazyView';
import { paths } from '~/router';
import { dispatch, useBuildsStore } from '~/stores/buildsStore';

export default function Welcome(_: ViewProps) {
  useEffect(() => {
    document.title = 'Cascade';
  }, []);
  const { error, loading } = useAsync(async (signal) => {
    const r = await apiGet('/builders', { signal });
    dispatch({ type: 'builders', builders: r.builders });
    return r;
  }, []);
  const state = useBuildsStore((s) => s);

  return (
    <section class="page welcome">
      <h1>Welcome to Cascade</h1>
      <p class="lead">
        A continuous-integration master with Buildbot&apos;s status targets. Start with the{' '}
        <a href="/waterfall">waterfall</a>, which shows every builder and its recent builds live.
      </p>
      <ul class="views">
        <li>
          <a href="/waterfall">Waterfall</a> — builds and their steps over time
        </li>
        <li>
          <a href="/grid">Grid</a>, <a href="/tgrid">transposed grid</a> and{' '}
          <a href="/console">console</a> — builds by revision (not yet available)
        </li>
        <li>
          <a href="/changes">Changes</a>, <a href="/workers">workers</a>,{' '}
          <a href="/one_line_per_build">recent builds</a> (not yet available)
        </li>
      </ul>
      <h2>Builders</h2>
      {error && <ErrorMessage error={error} />}
      {loading && state.builderOrder.length === 0 && <Loading />}
      {!loading && !error && state.builderOrder.length === 0 && (
        <p class="muted">No builders are configured.</p>
      )}
      <table class="list">
        <tbody>
          {state.builderOrder.map((name) => {
            const b = state.builders[name];
            return (
              <tr key={name} data-builder={name}>
                <td>
                  <a href={paths.builder(name)}>{name}</a>
                  {b.description && <div class="muted small">{b.description}</div>}
                </td>
                <td>
                  <LastBuildBox builder={b} />
                </td>
                <td>
                  <BuilderStateBox builder={b} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
