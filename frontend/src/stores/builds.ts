// The keyed cache of builders and builds, and the pure reducer that applies server events to it.
import type { Build, BuildDetail, Builder, LogInfo, Step } from '~/api/types';
import type { EventType, ServerEvent } from './eventTypes';

export interface BuildsState {
  /** Builders by name, and their display order (the server's order). */
  builders: Readonly<Record<string, Builder>>;
  builderOrder: readonly string[];
  /** Builds by `buildKey(builder, number)`. */
  builds: Readonly<Record<string, BuildDetail>>;
}

export type Action =
  | { type: 'builders'; builders: Builder[] }
  | { type: 'builder'; builder: Builder }
  | { type: 'builds'; builds: BuildDetail[] }
  | { type: 'event'; event: ServerEvent };

export const initialState: BuildsState = { builders: {}, builderOrder: [], builds: {} };

export function buildKey(builder: string, number: number): string {
  return `${builder}/${number}`;
}

/** How far along a snapshot of a build is; used to keep the newest of two copies. */
function progress(b: BuildDetail): number {
  let p = b.complete ? 1_000_000 : 0;
  for (const s of b.steps) {
    p += 10 + (s.started_at ? 1 : 0) + (s.complete ? 2 : 0);
    for (const l of s.logs) p += l.complete ? 1 : 0;
  }
  return p;
}

function mergeBuild(old: BuildDetail | undefined, next: BuildDetail): BuildDetail {
  if (!old) return next;
  return progress(next) >= progress(old) ? next : old;
}

function upsertBy<T>(list: readonly T[], item: T, same: (a: T) => boolean): T[] {
  const i = list.findIndex(same);
  if (i < 0) return [...list, item];
  const copy = list.slice();
  copy[i] = item;
  return copy;
}

function withBuilder(state: BuildsState, name: string, f: (b: Builder) => Builder): BuildsState {
  const b = state.builders[name];
  if (!b) return state;
  return { ...state, builders: { ...state.builders, [name]: f(b) } };
}

function withBuild(
  state: BuildsState,
  builder: string,
  number: number,
  f: (b: BuildDetail) => BuildDetail,
): BuildsState {
  const key = buildKey(builder, number);
  const b = state.builds[key];
  if (!b) return state;
  return { ...state, builds: { ...state.builds, [key]: f(b) } };
}

function activity(running: number, b: Builder): Builder['state'] {
  if (running > 0) return 'building';
  return b.state === 'building' ? 'idle' : b.state;
}

function buildStarted(state: BuildsState, build: Build): BuildsState {
  const key = buildKey(build.builder, build.number);
  const old = state.builds[key];
  const next: BuildDetail = old ? { ...old, ...build, steps: old.steps } : { ...build, steps: [] };
  const s = { ...state, builds: { ...state.builds, [key]: next } };
  if (old) return s;
  return withBuilder(s, build.builder, (b) => ({
    ...b,
    running: b.running + 1,
    pending: Math.max(0, b.pending - 1),
    state: 'building',
  }));
}

function buildFinished(state: BuildsState, build: Build): BuildsState {
  const key = buildKey(build.builder, build.number);
  const old = state.builds[key];
  if (old?.complete) return state;
  const next: BuildDetail = { ...(old ?? { steps: [] }), ...build };
  const s = { ...state, builds: { ...state.builds, [key]: next } };
  return withBuilder(s, build.builder, (b) => {
    const running = Math.max(0, b.running - (old ? 1 : 0));
    return { ...b, running, state: activity(running, b), last_build: build };
  });
}

function stepEvent(state: BuildsState, builder: string, number: number, step: Step): BuildsState {
  return withBuild(state, builder, number, (b) => {
    const old = b.steps.find((s) => s.number === step.number);
    // Keep the logs we know of if the event's copy has fewer (events may race log appends).
    const merged: Step =
      old && old.logs.length > step.logs.length ? { ...step, logs: old.logs } : step;
    const steps = upsertBy(b.steps, merged, (s) => s.number === step.number);
    steps.sort((x, y) => x.number - y.number);
    return { ...b, steps };
  });
}

function logAppended(
  state: BuildsState,
  builder: string,
  number: number,
  stepNumber: number,
  log: LogInfo,
): BuildsState {
  return withBuild(state, builder, number, (b) => {
    const step = b.steps.find((s) => s.number === stepNumber);
    if (!step) return b;
    const logs = upsertBy(step.logs, log, (l) => l.slug === log.slug);
    const steps = upsertBy(b.steps, { ...step, logs }, (s) => s.number === stepNumber);
    return { ...b, steps };
  });
}

/** The builder and build number an event is about (from its fields or its `build`). */
export function eventBuild(ev: ServerEvent): [string, number] | null {
  const builder = ev.builder ?? ev.build?.builder;
  const number = ev.build_number ?? ev.build?.number;
  return builder != null && number != null ? [builder, number] : null;
}

type Handler = (state: BuildsState, ev: ServerEvent) => BuildsState;
const unchanged: Handler = (state) => state;

function stepHandler(state: BuildsState, ev: ServerEvent): BuildsState {
  const target = eventBuild(ev);
  if (!target || !ev.step) return state;
  return stepEvent(state, target[0], target[1], ev.step);
}

function pendingBy(delta: number): Handler {
  return (state, ev) =>
    ev.builder == null
      ? state
      : withBuilder(state, ev.builder, (b) => ({ ...b, pending: Math.max(0, b.pending + delta) }));
}

/**
 * What every kind of server event does to the cache. Kinds that change nothing here say so
 * explicitly: the page that shows them (changes, workers) keeps them itself, and builder
 * states after worker events are refetched (`useBuilderStates`).
 */
const HANDLERS: Record<EventType, Handler> = {
  'change.new': unchanged,
  'buildset.new': unchanged,
  'buildrequest.new': pendingBy(1),
  'buildrequest.cancelled': pendingBy(-1),
  'build.started': (state, ev) => (ev.build ? buildStarted(state, ev.build) : state),
  'build.finished': (state, ev) => (ev.build ? buildFinished(state, ev.build) : state),
  'step.started': stepHandler,
  'step.finished': stepHandler,
  'log.appended': (state, ev) => {
    const target = eventBuild(ev);
    if (!target || ev.step_number == null || !ev.log) return state;
    return logAppended(state, target[0], target[1], ev.step_number, ev.log);
  },
  'worker.connected': unchanged,
  'worker.disconnected': unchanged,
  'worker.paused': unchanged,
  'worker.unpaused': unchanged,
  'worker.stopping': unchanged,
  action: unchanged,
  'master.started': unchanged,
  'master.stopping': unchanged,
  'master.lost': unchanged,
  // Builders may have come or gone: the views read their state again (see eventStream).
  reconfig: unchanged,
  // The views read their state again; nothing to apply.
  resync: unchanged,
};

export function applyEvent(state: BuildsState, ev: ServerEvent): BuildsState {
  return HANDLERS[ev.type](state, ev);
}

export function reduce(state: BuildsState, action: Action): BuildsState {
  switch (action.type) {
    case 'builders': {
      const builders: Record<string, Builder> = {};
      for (const b of action.builders) builders[b.name] = b;
      return { ...state, builders, builderOrder: action.builders.map((b) => b.name) };
    }
    case 'builder': {
      const b = action.builder;
      const order = state.builders[b.name] ? state.builderOrder : [...state.builderOrder, b.name];
      return { ...state, builders: { ...state.builders, [b.name]: b }, builderOrder: order };
    }
    case 'builds': {
      const builds = { ...state.builds };
      for (const b of action.builds) {
        const key = buildKey(b.builder, b.number);
        builds[key] = mergeBuild(builds[key], b);
      }
      return { ...state, builds };
    }
    case 'event':
      return applyEvent(state, action.event);
  }
}

/** Whether an event concerns a build this state does not know (so it should be fetched). */
export function missingBuild(state: BuildsState, ev: ServerEvent): [string, number] | null {
  if (ev.type !== 'step.started' && ev.type !== 'step.finished' && ev.type !== 'log.appended')
    return null;
  const target = eventBuild(ev);
  if (!target) return null;
  const b = state.builds[buildKey(...target)];
  if (!b) return target;
  if (ev.type === 'log.appended' && !b.steps.some((s) => s.number === ev.step_number))
    return target;
  return null;
}

/** Builds of the cache, newest first (by start time, then number). */
export function buildsNewestFirst(state: BuildsState): BuildDetail[] {
  return Object.values(state.builds).sort(
    (a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || b.number - a.number,
  );
}
