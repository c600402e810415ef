import { useEffect, useMemo } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { Builder } from '~/api/types';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { FilterForm, type FilterField } from '~/components/filters/FilterForm';
import { BuilderCell } from '~/components/grid/BuilderCell';
import { GridCell } from '~/components/grid/GridCell';
import { StampHeader } from '~/components/grid/StampHeader';
import { useBuilders } from '~/composables/useBuilders';
import { useLiveView } from '~/composables/useLiveView';
import type { ViewProps } from '~/lazyView';
import { applyGridEvent } from '~/lib/grid';
import { listArg, numberArg } from '~/lib/query';
import { useBuildsStore } from '~/stores/buildsStore';

function fields(all: Builder[], transposed: boolean): FilterField[] {
  const tags = [...new Set(all.flatMap((b) => b.tags))].sort();
  const size: FilterField = transposed
    ? { name: 'length', label: 'Revisions', kind: 'number', placeholder: '5' }
    : { name: 'width', label: 'Revisions', kind: 'number', placeholder: '5' };
  const list: FilterField[] = [
    { name: 'category', label: 'Categories', kind: 'choices', choices: tags },
    { name: 'branch', label: 'Branches', kind: 'text', placeholder: 'main' },
    size,
  ];
  if (transposed)
    list.push({ name: 'rev_order', label: 'Order', kind: 'select', choices: ['asc', 'desc'] });
  return list;
}

/** `/grid` (builders down, source stamps across) and `/tgrid` (transposed). */
export default function Grid({ query, path }: ViewProps) {
  const transposed = path.startsWith('/tgrid');
  const qs = query.toString();
  const width = Math.min(100, Math.max(1, numberArg(query, transposed ? 'length' : 'width') ?? 5));
  const categories = useMemo(() => listArg(query, 'category'), [qs]);
  const branches = useMemo(() => listArg(query, 'branch'), [qs]);
  const newestFirst = transposed && query.get('rev_order') === 'desc';
  useEffect(() => {
    document.title = `${transposed ? 'Transposed grid' : 'Grid'} — Cascade`;
  }, [transposed]);

  const { builders: all } = useBuilders();
  const { data: grid, error } = useLiveView(
    (signal) =>
      apiGet('/views/grid', { query: { category: categories, branch: branches, width }, signal }),
    (g, ev) => applyGridEvent(g, ev, width, branches),
    [qs, transposed],
  );
  const live = useBuildsStore((s) => s.builders);

  if (error && !grid) return <ErrorMessage error={error} />;
  if (!grid) return <Loading />;
  // Builder states and pending counts follow the event stream through the store.
  const rows = grid.rows.map((r) => ({ ...r, builder: live[r.builder.name] ?? r.builder }));
  const stamps = grid.stamps.map((s, i) => ({ s, i }));
  const ordered = newestFirst ? stamps.slice().reverse() : stamps;

  return (
    <section class="grid-page">
      <FilterForm
        path={transposed ? '/tgrid' : '/grid'}
        query={query}
        fields={fields(all, transposed)}
      />
      {error && <ErrorMessage error={error} />}
      {rows.length === 0 ? (
        <p class="muted">No builder matches these filters.</p>
      ) : grid.stamps.length === 0 ? (
        <p class="muted">No builds yet.</p>
      ) : (
        <div class="grid-scroll">
          {transposed ? (
            <table class="grid" data-testid="tgrid">
              <thead>
                <tr>
                  <th>Revision</th>
                  {rows.map((r) => (
                    <BuilderCell key={r.builder.name} builder={r.builder} />
                  ))}
                </tr>
              </thead>
              <tbody>
                {ordered.map(({ s, i }) => (
                  <tr key={i} data-testid="stamp-row">
                    <StampHeader stamp={s} />
                    {rows.map((r) => (
                      <GridCell
                        key={r.builder.name}
                        builder={r.builder.name}
                        build={r.cells[i]?.build}
                        average={r.builder.average_duration}
                      />
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <table class="grid" data-testid="grid">
              <thead>
                <tr>
                  <th>Builder</th>
                  {grid.stamps.map((s, i) => (
                    <StampHeader key={i} stamp={s} />
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.builder.name} data-testid="builder-row" data-builder={r.builder.name}>
                    <BuilderCell builder={r.builder} />
                    {r.cells.map((c, i) => (
                      <GridCell
                        key={i}
                        builder={r.builder.name}
                        build={c.build}
                        average={r.builder.average_duration}
                      />
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
