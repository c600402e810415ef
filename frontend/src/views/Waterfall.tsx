import { useEffect, useMemo } from 'preact/hooks';
import { apiGet } from '~/api/client';
import type {
  BuildDetail,
  Builder,
  Change,
  Waterfall as WaterfallData,
  WaterfallEvent,
} from '~/api/types';
import { ChangeBox } from '~/components/changes/ChangeBox';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { FilterForm, type FilterField } from '~/components/filters/FilterForm';
import { BuildBox } from '~/components/waterfall/BuildBox';
import { EventBox } from '~/components/waterfall/EventBox';
import { WaterfallGrid } from '~/components/waterfall/WaterfallGrid';
import { useBuilders } from '~/composables/useBuilders';
import { useLiveView } from '~/composables/useLiveView';
import type { ViewProps } from '~/lazyView';
import { boolArg, branchMatches, listArg, numberArg, pageUrl } from '~/lib/query';
import { parseTime } from '~/lib/time';
import { layoutWaterfall, type Timed } from '~/lib/waterfallLayout';
import { buildKey, type BuildsState } from '~/stores/builds';
import { dispatch, useBuildsStore } from '~/stores/buildsStore';
import type { ServerEvent } from '~/stores/eventTypes';
import { useCan } from '~/stores/session';

/** The page's arguments (0.8.9's names), as the API takes them. */
function apiArgs(q: URLSearchParams) {
  return {
    builder: listArg(q, 'builder', 'show'),
    category: listArg(q, 'category'),
    branch: listArg(q, 'branch'),
    committer: listArg(q, 'committer'),
    project: listArg(q, 'project'),
    show_events: boolArg(q, 'show_events') || undefined,
    failures_only: boolArg(q, 'failures_only') || undefined,
    last_time: numberArg(q, 'last_time'),
    first_time: numberArg(q, 'first_time'),
    show_time: numberArg(q, 'show_time'),
    num_events: numberArg(q, 'num_events'),
  };
}
type Args = ReturnType<typeof apiArgs>;

function fields(all: Builder[]): FilterField[] {
  const tags = [...new Set(all.flatMap((b) => b.tags))].sort();
  return [
    { name: 'builder', label: 'Builders', kind: 'choices', choices: all.map((b) => b.name) },
    { name: 'category', label: 'Categories', kind: 'choices', choices: tags },
    { name: 'branch', label: 'Branches', kind: 'text', placeholder: 'main, release' },
    { name: 'committer', label: 'Committers', kind: 'text', placeholder: 'Ann <ann@example.org>' },
    { name: 'project', label: 'Projects', kind: 'text' },
    { name: 'last_time', label: 'Up to', kind: 'time' },
    { name: 'show_time', label: 'Span (s)', kind: 'number', placeholder: '3600' },
    { name: 'num_events', label: 'Builds per page', kind: 'number' },
    { name: 'show_events', label: 'Worker and master events', kind: 'check' },
    { name: 'failures_only', label: 'Failing builders only', kind: 'check' },
  ];
}

/** What a live page keeps besides the builds store: which builds, changes and events it shows. */
interface Shown {
  keys: string[];
  changes: Change[];
  events: WaterfallEvent[];
}

let syntheticId = 0;

function columnsOf(page: WaterfallData): Set<string> {
  return new Set(page.builders.map((b) => b.name));
}

/** A live event as the page shows it: builds, changes and events that belong on it. */
function applyLive(shown: Shown, ev: ServerEvent, args: Args, columns: Set<string>): Shown {
  if (ev.type === 'build.started' && ev.build) {
    const b = ev.build;
    const key = buildKey(b.builder, b.number);
    if (!columns.has(b.builder) || shown.keys.includes(key)) return shown;
    if (!branchMatches(args.branch, b.branch)) return shown;
    if (args.project.length > 0 && !args.project.includes(b.project)) return shown;
    if (
      args.committer.length > 0 &&
      !(ev.change_ids ?? []).some((id) => shown.changes.some((c) => c.id === id))
    )
      return shown;
    return { ...shown, keys: [key, ...shown.keys] };
  }
  if (ev.type === 'change.new' && ev.change) {
    const c = ev.change;
    if (shown.changes.some((x) => x.id === c.id)) return shown;
    if (!branchMatches(args.branch, c.branch)) return shown;
    if (args.project.length > 0 && !args.project.includes(c.project)) return shown;
    if (args.committer.length > 0 && !args.committer.includes(c.author)) return shown;
    return { ...shown, changes: [c, ...shown.changes] };
  }
  const shownKind =
    ev.type.startsWith('worker.') || ev.type.startsWith('master.') || ev.type === 'reconfig';
  if (args.show_events && shownKind) {
    const event: WaterfallEvent = {
      id: -++syntheticId,
      type: ev.type,
      at: ev.at,
      name: ev.name ?? '',
      actor: ev.type === 'reconfig' ? ev.actor : undefined,
      summary: ev.type === 'reconfig' ? ev.reason : undefined,
    };
    return { ...shown, events: [event, ...shown.events] };
  }
  return shown;
}

/**
 * A live page keeps growing at the top: past `limit` (and some slack, so that the bottom
 * does not flicker) its oldest builds, changes and events go.
 */
function bounded(shown: Shown, limit: number): Shown {
  const max = limit + Math.max(20, Math.ceil(limit / 10));
  if (shown.keys.length <= max && shown.changes.length <= max && shown.events.length <= max)
    return shown;
  return {
    keys: shown.keys.slice(0, limit),
    changes: shown.changes.slice(0, limit),
    events: shown.events.slice(0, limit),
  };
}

type Item =
  | { kind: 'build'; build: BuildDetail }
  | { kind: 'change'; change: Change }
  | { kind: 'event'; event: WaterfallEvent };

/** Everything on the page placed in its columns: 0 is the changes column, 1 + i builder i. */
function placeItems(
  shown: Shown,
  builds: BuildsState['builds'],
  columns: Builder[],
): Timed<Item>[] {
  const col = new Map(columns.map((b, i) => [b.name, i + 1]));
  const items: Timed<Item>[] = [];
  for (const key of shown.keys) {
    const build = builds[key];
    const c = build && col.get(build.builder);
    if (c != null) {
      items.push({
        columns: [c],
        time: parseTime(build.started_at) ?? NaN,
        order: build.id,
        value: { kind: 'build', build },
      });
    }
  }
  for (const change of shown.changes) {
    items.push({
      columns: [0],
      time: parseTime(change.received_at) ?? NaN,
      order: change.id,
      value: { kind: 'change', change },
    });
  }
  for (const event of shown.events) {
    // A worker's events go to the builders it serves; a master's to every builder.
    const cols = event.type.startsWith('worker.')
      ? columns.flatMap((b, i) => (b.workers.includes(event.name) ? [i + 1] : []))
      : columns.map((_, i) => i + 1);
    items.push({
      columns: cols,
      time: parseTime(event.at) ?? NaN,
      order: event.id,
      value: { kind: 'event', event },
    });
  }
  return items;
}

function ItemBox({ item }: { item: Item }) {
  if (item.kind === 'build') return <BuildBox build={item.build} />;
  if (item.kind === 'change') return <ChangeBox change={item.change} />;
  return <EventBox event={item.event} />;
}

function itemKey(item: Item): string {
  if (item.kind === 'build') return `b${item.build.id}`;
  if (item.kind === 'change') return `c${item.change.id}`;
  return `e${item.event.id}`;
}

export default function Waterfall({ query }: ViewProps) {
  const qs = query.toString();
  const args = useMemo(() => apiArgs(query), [qs]);
  useEffect(() => {
    document.title = 'Waterfall — Cascade';
  }, []);
  const { builders: all } = useBuilders();
  const { data, error } = useLiveView(
    async (signal) => {
      const page = await apiGet('/views/waterfall', { query: args, signal });
      for (const b of page.builders) dispatch({ type: 'builder', builder: b });
      dispatch({ type: 'builds', builds: page.builds });
      const shown: Shown = {
        keys: page.builds.map((b) => buildKey(b.builder, b.number)),
        changes: page.changes,
        events: page.events,
      };
      return { page, shown };
    },
    // A page of history does not grow; the newest page does.
    (state, ev) =>
      args.last_time != null
        ? state
        : {
            ...state,
            shown: bounded(
              applyLive(state.shown, ev, args, columnsOf(state.page)),
              state.page.num_events,
            ),
          },
    [qs],
  );
  const page = data?.page;
  const shown = data?.shown;

  const state = useBuildsStore((s) => s);
  const columns = useMemo(
    () => (page?.builders ?? []).map((b) => state.builders[b.name] ?? b),
    [page, state.builders],
  );
  const runningSince = useMemo(() => {
    const since: Record<string, string> = {};
    for (const b of Object.values(state.builds)) {
      if (!b.complete && (!since[b.builder] || b.started_at < since[b.builder]))
        since[b.builder] = b.started_at;
    }
    return since;
  }, [state.builds]);
  const rows = useMemo(
    () =>
      shown && page
        ? layoutWaterfall(1 + columns.length, placeItems(shown, state.builds, columns), {
            // The server bounded the page; live arrivals are bounded by `bounded`.
            maxRows: Infinity,
          })
        : [],
    [shown, state.builds, columns, page],
  );
  const canForce = useCan('force_build');

  if (error && !page) return <ErrorMessage error={error} />;
  if (!page || !shown) return <Loading />;

  const current = Object.fromEntries([...new Set(query.keys())].map((k) => [k, query.getAll(k)]));
  return (
    <section class="waterfall-page">
      <FilterForm path="/waterfall" query={query} fields={fields(all)} />
      {error && <ErrorMessage error={error} />}
      {columns.length === 0 ? (
        <p class="muted">No builder matches these filters.</p>
      ) : (
        <div class="waterfall-scroll">
          <WaterfallGrid
            columns={columns}
            rows={rows}
            runningSince={runningSince}
            renderItem={(item) => <ItemBox item={item} />}
            itemKey={itemKey}
            empty={
              <>
                Nothing happened in this window.
                {canForce && args.last_time == null && ' Press Force to start a build.'}
              </>
            }
          />
        </div>
      )}
      <nav class="pager" aria-label="Waterfall pages">
        {args.last_time != null && (
          <a href={pageUrl('/waterfall', { ...current, last_time: undefined })}>« Newest</a>
        )}
        {page.next_last_time != null && (
          <a
            data-testid="next-page"
            href={pageUrl('/waterfall', { ...current, last_time: page.next_last_time })}
          >
            Earlier ›
          </a>
        )}
      </nav>
    </section>
  );
}
