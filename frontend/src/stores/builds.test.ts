import { describe, expect, it } from 'vitest';
import type { Build, BuildDetail, Builder, Step } from '~/api/types';
import {
  applyEvent,
  buildKey,
  buildsNewestFirst,
  initialState,
  missingBuild,
  reduce,
  type BuildsState,
} from './builds';
import type { ServerEvent } from './eventTypes';

const AT = '2024-05-01T12:00:00Z';

function builder(name: string, over: Partial<Builder> = {}): Builder {
  return {
    name,
    tags: [],
    workers: ['local'],
    state: 'idle',
    pending: 0,
    running: 0,
    can_force: true,
    ...over,
  };
}

function build(number: number, over: Partial<Build> = {}): Build {
  return {
    id: number,
    builder: 'quick',
    number,
    buildrequest_id: number,
    worker: 'local',
    started_at: AT,
    complete: false,
    state_text: 'building',
    reason: 'forced',
    codebase: '',
    project: '',
    repository: '',
    properties: {},
    ...over,
  };
}

function step(number: number, over: Partial<Step> = {}): Step {
  return {
    number,
    name: `step${number}`,
    state_text: 'running',
    started_at: AT,
    complete: false,
    logs: [],
    ...over,
  };
}

const ev = (e: Omit<ServerEvent, 'at'>): ServerEvent => ({ at: AT, ...e });

function withBuilder(): BuildsState {
  return reduce(initialState, { type: 'builders', builders: [builder('quick'), builder('slow')] });
}

describe('builds reducer', () => {
  it('loads builders in server order', () => {
    const s = withBuilder();
    expect(s.builderOrder).toEqual(['quick', 'slow']);
    expect(s.builders.quick.name).toBe('quick');
  });

  it('adds a build on build.started and marks the builder building', () => {
    const s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    expect(s.builds[buildKey('quick', 1)]).toMatchObject({ number: 1, steps: [] });
    expect(s.builders.quick.state).toBe('building');
    expect(s.builders.quick.running).toBe(1);
  });

  it('adds and updates steps on step events, in step order', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    s = applyEvent(
      s,
      ev({ type: 'step.started', builder: 'quick', build_number: 1, step: step(2) }),
    );
    s = applyEvent(
      s,
      ev({ type: 'step.started', builder: 'quick', build_number: 1, step: step(1) }),
    );
    const done = step(1, { complete: true, results: 'success', state_text: 'hello' });
    s = applyEvent(s, ev({ type: 'step.finished', builder: 'quick', build_number: 1, step: done }));
    const steps = s.builds[buildKey('quick', 1)].steps;
    expect(steps.map((x) => x.number)).toEqual([1, 2]);
    expect(steps[0].results).toBe('success');
  });

  it('updates a log on log.appended', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    s = applyEvent(
      s,
      ev({ type: 'step.started', builder: 'quick', build_number: 1, step: step(1) }),
    );
    const log = { name: 'stdio', slug: 'stdio', num_lines: 3, complete: false };
    s = applyEvent(
      s,
      ev({ type: 'log.appended', builder: 'quick', build_number: 1, step_number: 1, log }),
    );
    s = applyEvent(
      s,
      ev({
        type: 'log.appended',
        builder: 'quick',
        build_number: 1,
        step_number: 1,
        log: { ...log, num_lines: 7 },
      }),
    );
    expect(s.builds[buildKey('quick', 1)].steps[0].logs).toEqual([{ ...log, num_lines: 7 }]);
  });

  it('keeps known logs when a step event carries fewer', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    const log = { name: 'stdio', slug: 'stdio', num_lines: 3, complete: false };
    s = applyEvent(
      s,
      ev({
        type: 'step.started',
        builder: 'quick',
        build_number: 1,
        step: step(1, { logs: [log] }),
      }),
    );
    s = applyEvent(
      s,
      ev({ type: 'step.started', builder: 'quick', build_number: 1, step: step(1) }),
    );
    expect(s.builds[buildKey('quick', 1)].steps[0].logs).toHaveLength(1);
  });

  it('finishes a build and records it as the last build', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    s = applyEvent(
      s,
      ev({ type: 'step.started', builder: 'quick', build_number: 1, step: step(1) }),
    );
    const fin = build(1, { complete: true, results: 'success', finished_at: AT });
    s = applyEvent(s, ev({ type: 'build.finished', build: fin }));
    const b = s.builds[buildKey('quick', 1)];
    expect(b.results).toBe('success');
    expect(b.steps).toHaveLength(1); // steps survive the build-level event
    expect(s.builders.quick.state).toBe('idle');
    expect(s.builders.quick.running).toBe(0);
    expect(s.builders.quick.last_build?.number).toBe(1);
    // a duplicate finished event changes nothing
    expect(applyEvent(s, ev({ type: 'build.finished', build: fin }))).toBe(s);
  });

  it('takes the build of step events from their build field', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    s = applyEvent(s, ev({ type: 'step.started', build: build(1), step: step(1) }));
    expect(s.builds[buildKey('quick', 1)].steps).toHaveLength(1);
  });

  it('counts pending build requests', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'buildrequest.new', builder: 'quick' }));
    expect(s.builders.quick.pending).toBe(1);
    s = applyEvent(s, ev({ type: 'build.started', build: build(1) }));
    expect(s.builders.quick.pending).toBe(0);
  });

  it('counts a cancelled request out of the pending ones', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'buildrequest.new', builder: 'slow', id: 4 }));
    s = applyEvent(s, ev({ type: 'buildrequest.new', builder: 'slow', id: 5 }));
    s = applyEvent(s, ev({ type: 'buildrequest.cancelled', builder: 'slow', id: 4 }));
    expect(s.builders.slow.pending).toBe(1);
  });

  it('ignores events about unknown builds and unrelated events', () => {
    const s = withBuilder();
    expect(
      applyEvent(s, ev({ type: 'step.started', builder: 'quick', build_number: 5, step: step(1) })),
    ).toBe(s);
    expect(applyEvent(s, ev({ type: 'change.new' }))).toBe(s);
    expect(applyEvent(s, ev({ type: 'build.started' }))).toBe(s);
  });

  it('reports builds that must be fetched', () => {
    const s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    const stepEv = ev({ type: 'step.started', builder: 'quick', build_number: 2, step: step(1) });
    expect(missingBuild(s, stepEv)).toEqual(['quick', 2]);
    expect(missingBuild(s, { ...stepEv, build_number: 1 })).toBeNull();
    const logEv = ev({
      type: 'log.appended',
      builder: 'quick',
      build_number: 1,
      step_number: 3,
      log: { name: 'stdio', slug: 'stdio', num_lines: 1, complete: false },
    });
    expect(missingBuild(s, logEv)).toEqual(['quick', 1]);
    expect(missingBuild(s, ev({ type: 'build.started', build: build(9) }))).toBeNull();
  });

  it('keeps the more advanced copy when a fetched snapshot races events', () => {
    let s = applyEvent(withBuilder(), ev({ type: 'build.started', build: build(1) }));
    const fin = build(1, { complete: true, results: 'success' });
    s = applyEvent(s, ev({ type: 'build.finished', build: fin }));
    const stale: BuildDetail = { ...build(1), steps: [] };
    s = reduce(s, { type: 'builds', builds: [stale] });
    expect(s.builds[buildKey('quick', 1)].complete).toBe(true);
    const fresh: BuildDetail = { ...fin, steps: [step(1, { complete: true })] };
    s = reduce(s, { type: 'builds', builds: [fresh] });
    expect(s.builds[buildKey('quick', 1)].steps).toHaveLength(1);
  });

  it('lists builds newest first', () => {
    let s = withBuilder();
    s = reduce(s, {
      type: 'builds',
      builds: [
        { ...build(1, { started_at: '2024-05-01T10:00:00Z' }), steps: [] },
        { ...build(2, { started_at: '2024-05-01T11:00:00Z' }), steps: [] },
      ],
    });
    expect(buildsNewestFirst(s).map((b) => b.number)).toEqual([2, 1]);
  });
});
