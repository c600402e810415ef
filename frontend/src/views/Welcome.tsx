import { useEffect, useMemo } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type { Builder } from '~/api/types';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { BuilderStateBox, LastBuildBox } from '~/components/waterfall/BuilderBoxes';
import { useAsync } from '~/composables/useAsync';
import { useBuilders } from '~/composables/useBuilders';
import type { ViewProps } from '~/lazyView';
import { safeHref } from '~/lib/links';
import { paths } from '~/router';
import { useBuildsStore } from '~/stores/buildsStore';

const PAGES: [string, string, string][] = [
  ['/waterfall', 'Waterfall', 'every builder over time, with steps and logs'],
  ['/grid', 'Grid', 'builders down, the latest revisions across'],
  ['/tgrid', 'Transposed grid', 'revisions down, builders across'],
  ['/console', 'Console', 'each change and what it did to every builder'],
  ['/builders', 'Builders', 'each builder, its workers and force form'],
  ['/changes', 'Changes', 'the changes the master has seen'],
  ['/workers', 'Workers', 'who runs the builds'],
  ['/one_line_per_build', 'Recent builds', 'one line per build'],
  ['/about', 'About', 'this master and its version'],
];

function BoardRow({ builder, runningSince }: { builder: Builder; runningSince?: string }) {
  return (
    <li data-builder={builder.name}>
      <a href={paths.builder(builder.name)} class="board-name">
        {builder.name}
      </a>
      <LastBuildBox builder={builder} />
      <BuilderStateBox builder={builder} runningSince={runningSince} />
    </li>
  );
}

/** `/`: the title, every page, and a board of what is red and what is building now. */
export default function Welcome(_: ViewProps) {
  const master = useAsync((signal) => apiGet('/master', { signal }), []);
  const title = master.data?.title ?? 'Cascade';
  useEffect(() => {
    document.title = title === 'Cascade' ? 'Cascade' : `${title} — Cascade`;
  }, [title]);
  const { builders, loaded, error } = useBuilders();
  const builds = useBuildsStore((s) => s.builds);
  const runningSince = useMemo(() => {
    const since: Record<string, string> = {};
    for (const b of Object.values(builds))
      if (!b.complete && (!since[b.builder] || b.started_at < since[b.builder]))
        since[b.builder] = b.started_at;
    return since;
  }, [builds]);
  const red = builders.filter(
    (b) =>
      b.last_build && b.last_build.results !== 'success' && b.last_build.results !== 'warnings',
  );
  const building = builders.filter((b) => b.state === 'building');
  const titleHref = safeHref(master.data?.title_url);

  return (
    <section class="page welcome">
      <h1 data-testid="title">{titleHref ? <a href={titleHref}>{title}</a> : title}</h1>
      <nav class="page-links" aria-label="Pages">
        <ul>
          {PAGES.map(([href, name, what]) => (
            <li key={href}>
              <a href={href}>{name}</a> <span class="muted">— {what}</span>
            </li>
          ))}
        </ul>
      </nav>
      {error && <ErrorMessage error={error} />}
      {!loaded && builders.length === 0 ? (
        <Loading />
      ) : builders.length === 0 ? (
        <p class="muted">No builders are configured.</p>
      ) : (
        <div class="board">
          <section aria-labelledby="red-now" data-testid="board-red">
            <h2 id="red-now">Red now</h2>
            {red.length === 0 ? (
              <p class="ok">Every builder&apos;s last build passed.</p>
            ) : (
              <ul class="board-list">
                {red.map((b) => (
                  <BoardRow key={b.name} builder={b} runningSince={runningSince[b.name]} />
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="building-now" data-testid="board-building">
            <h2 id="building-now">Building now</h2>
            {building.length === 0 ? (
              <p class="muted">Nothing is building.</p>
            ) : (
              <ul class="board-list">
                {building.map((b) => (
                  <BoardRow key={b.name} builder={b} runningSince={runningSince[b.name]} />
                ))}
              </ul>
            )}
          </section>
        </div>
      )}
    </section>
  );
}
