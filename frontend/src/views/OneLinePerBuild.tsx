import { useEffect, useMemo } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { Builder } from '~/api/types';
import { BuildTable } from '~/components/build/BuildTable';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { FilterForm, type FilterField } from '~/components/filters/FilterForm';
import { useBuilders } from '~/composables/useBuilders';
import { useLiveView } from '~/composables/useLiveView';
import type { ViewProps } from '~/lazyView';
import {
  applyOneLineEvent,
  oneLineArgs,
  oneLineQuery,
  propertyKeys,
  withoutProperty,
} from '~/lib/oneLine';

function fields(all: Builder[], numbuilds?: number): FilterField[] {
  return [
    { name: 'builder', label: 'Builders', kind: 'choices', choices: all.map((b) => b.name) },
    { name: 'branch', label: 'Branches', kind: 'text', placeholder: 'main, release' },
    {
      name: 'numbuilds',
      label: 'Builds',
      kind: 'number',
      placeholder: numbuilds != null ? String(numbuilds) : undefined,
    },
  ];
}

/** `/one_line_per_build`: the newest builds of every builder, one line each, live. */
export default function OneLinePerBuild({ query }: ViewProps) {
  const qs = query.toString();
  const args = useMemo(() => oneLineArgs(query), [qs]);
  useEffect(() => {
    document.title = 'Recent builds — Cascade';
  }, []);
  const { builders: all } = useBuilders();
  const { data: page, error } = useLiveView(
    (signal) => apiGet('/views/one_line_per_build', { query: oneLineQuery(args), signal }),
    (p, ev) => applyOneLineEvent(p, ev, args),
    [qs],
  );

  if (error && !page) return <ErrorMessage error={error} />;
  if (!page) return <Loading />;
  return (
    <section class="page one-line-page">
      <h1>Recent builds</h1>
      <FilterForm
        path="/one_line_per_build"
        query={query}
        fields={fields(all, page.numbuilds)}
        keep={propertyKeys(query)}
      />
      {args.properties.length > 0 && (
        <p class="property-filters" data-testid="property-filters">
          Only builds whose properties have{' '}
          {args.properties.map(([name, value]) => (
            <span key={`${name}=${value}`} class="chip">
              <code>
                {name} = {value}
              </code>{' '}
              <a
                href={withoutProperty(query, name, value)}
                aria-label={`Remove the filter ${name} = ${value}`}
              >
                ×
              </a>
            </span>
          ))}
        </p>
      )}
      {error && <ErrorMessage error={error} />}
      {page.builds.length === 0 ? (
        <p class="muted" data-testid="no-builds">
          No build matches these filters.
        </p>
      ) : (
        <BuildTable builds={page.builds} />
      )}
      <p class="muted small">
        The newest {page.numbuilds} builds{args.numbuilds == null ? ' (num_builds)' : ''}, newest
        first.
      </p>
    </section>
  );
}
