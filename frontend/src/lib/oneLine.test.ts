import { describe, expect, it } from 'vitest';
import type { Build, OneLinePerBuild } from '~/api/types';
import type { ServerEvent } from '~/stores/eventTypes';
import {
  applyOneLineEvent,
  buildMatches,
  oneLineArgs,
  oneLineQuery,
  propertyKeys,
  propertyText,
  withoutProperty,
} from './oneLine';

const AT = '2024-05-01T12:00:00Z';
const build = (id: number, over: Partial<Build> = {}): Build => ({
  id,
  builder: 'linux',
  number: id,
  buildrequest_id: id,
  started_at: AT,
  complete: false,
  state_text: 'building',
  reason: '',
  branch: 'main',
  codebase: '',
  project: 'app',
  repository: 'https://git/app',
  properties: { os: 'linux', jobs: 4, nightly: false },
  ...over,
});
const args = (qs: string) => oneLineArgs(new URLSearchParams(qs));
const ev = (type: ServerEvent['type'], b: Build): ServerEvent => ({ type, at: AT, build: b });

describe('arguments', () => {
  it('reads builders, branches, the count and property filters', () => {
    expect(
      args('builder=a&builder=b&branch=main&numbuilds=5&property.os=linux&property.=x&other=1'),
    ).toEqual({
      builder: ['a', 'b'],
      branch: ['main'],
      numbuilds: 5,
      properties: [['os', 'linux']],
    });
    expect(args('numbuilds=0').numbuilds).toBeUndefined();
    expect(args('numbuilds=9999').numbuilds).toBe(1000);
  });

  it('passes property filters through to the API, repeated ones as lists', () => {
    expect(oneLineQuery(args('builder=a&property.os=linux&property.os=mac'))).toEqual({
      builder: ['a'],
      branch: [],
      'property.os': ['linux', 'mac'],
    });
    expect(oneLineQuery(args('numbuilds=3'))).toEqual({ builder: [], branch: [], numbuilds: 3 });
    expect(propertyKeys(new URLSearchParams('property.a=1&property.a=2&x=1'))).toEqual([
      'property.a',
    ]);
  });

  it('drops one property filter and keeps the rest', () => {
    const q = new URLSearchParams('builder=a&property.os=linux&property.os=mac');
    expect(withoutProperty(q, 'os', 'linux')).toBe('/one_line_per_build?builder=a&property.os=mac');
    expect(withoutProperty(new URLSearchParams('property.x=1'), 'x', '1')).toBe(
      '/one_line_per_build',
    );
  });
});

describe('buildMatches', () => {
  it('compares properties as text, as the server does', () => {
    expect(propertyText('x')).toBe('x');
    expect(propertyText(4)).toBe('4');
    expect(propertyText(false)).toBe('false');
    expect(propertyText(null)).toBeNull();
    expect(buildMatches(build(1), args('property.jobs=4&property.nightly=false'))).toBe(true);
    expect(buildMatches(build(1), args('property.os=mac'))).toBe(false);
    expect(buildMatches(build(1), args('property.missing=x'))).toBe(false);
  });

  it('keeps to the builders and branches asked for', () => {
    expect(buildMatches(build(1), args('builder=linux&branch=main'))).toBe(true);
    expect(buildMatches(build(1), args('builder=mac'))).toBe(false);
    expect(buildMatches(build(1, { branch: undefined }), args('branch=main'))).toBe(false);
  });
});

describe('applyOneLineEvent', () => {
  const page: OneLinePerBuild = { builds: [build(3), build(2)], numbuilds: 3 };

  it('puts a build that starts on top, keeping numbuilds', () => {
    const one = applyOneLineEvent(page, ev('build.started', build(4)), args(''));
    expect(one.builds.map((b) => b.id)).toEqual([4, 3, 2]);
    const two = applyOneLineEvent(one, ev('build.started', build(5)), args(''));
    expect(two.builds.map((b) => b.id)).toEqual([5, 4, 3]);
  });

  it('leaves out builds the filters exclude and older ones that do not fit', () => {
    expect(applyOneLineEvent(page, ev('build.started', build(4)), args('builder=mac'))).toBe(page);
    const full: OneLinePerBuild = { builds: [build(5), build(4)], numbuilds: 2 };
    expect(applyOneLineEvent(full, ev('build.finished', build(1)), args(''))).toBe(full);
    expect(applyOneLineEvent(page, ev('step.started', build(9)), args(''))).toBe(page);
  });

  it('updates a build on the page until it finishes', () => {
    const running = applyOneLineEvent(
      page,
      ev('step.started', build(3, { state_text: 'test' })),
      args(''),
    );
    expect(running.builds[0].state_text).toBe('test');
    const done = applyOneLineEvent(
      running,
      ev('build.finished', build(3, { complete: true, results: 'success' })),
      args(''),
    );
    expect(done.builds[0].results).toBe('success');
    expect(applyOneLineEvent(done, ev('step.finished', build(3)), args(''))).toBe(done);
  });
});
