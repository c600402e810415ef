import { describe, expect, it } from 'vitest';
import { isServerPath, matchRoute, paths, safeNext } from './router';

describe('router', () => {
  it('matches the implemented routes', () => {
    expect(matchRoute('/').name).toBe('home');
    expect(matchRoute('/waterfall').name).toBe('waterfall');
    expect(matchRoute('/grid').name).toBe('grid');
    expect(matchRoute('/tgrid').name).toBe('grid');
    expect(matchRoute('/console').name).toBe('console');
    expect(matchRoute('/builders/a%20b/builds/3')).toEqual({
      name: 'build',
      params: { builder: 'a b', number: '3' },
    });
    expect(matchRoute('/builders/q/builds/3/steps/1/logs/stdio')).toEqual({
      name: 'log',
      params: { builder: 'q', number: '3', step: '1', log: 'stdio' },
    });
    expect(matchRoute('/login').name).toBe('login');
    expect(matchRoute('/users').name).toBe('users');
    expect(matchRoute('/users/7')).toEqual({ name: 'user', params: { uid: '7' } });
    expect(matchRoute('/hooks').name).toBe('hooks');
    expect(matchRoute('/hooks/12')).toEqual({ name: 'hook', params: { id: '12' } });
    expect(matchRoute('/workers').name).toBe('workers');
    expect(matchRoute('/workers/linux%201')).toEqual({
      name: 'worker',
      params: { name: 'linux 1' },
    });
    expect(matchRoute('/about').name).toBe('about');
  });

  it('redirects the old buildslave URLs to the workers pages', () => {
    expect(matchRoute('/buildslaves')).toEqual({ name: 'redirect', params: { to: '/workers' } });
    expect(matchRoute('/buildslaves/a%2Fb')).toEqual({
      name: 'redirect',
      params: { to: '/workers/a%2Fb' },
    });
    expect(matchRoute('/changes').name).toBe('changes');
    expect(matchRoute('/changes/4')).toEqual({ name: 'change', params: { id: '4' } });
    expect(matchRoute('/one_line_per_build').name).toBe('oneLinePerBuild');
    expect(matchRoute('/buildstatus').name).toBe('buildStatus');
  });

  it('redirects the old users table URLs', () => {
    expect(matchRoute('/users/table')).toEqual({ name: 'redirect', params: { to: '/users' } });
    expect(matchRoute('/users/table/7')).toEqual({ name: 'redirect', params: { to: '/users/7' } });
    expect(matchRoute('/users/table/7/x').name).toBe('notFound');
  });

  it('routes the builders pages, a step by number or by name', () => {
    expect(matchRoute('/builders').name).toBe('builders');
    expect(matchRoute('/builders/q')).toEqual({ name: 'builder', params: { builder: 'q' } });
    expect(matchRoute('/builders/q/builds/3/steps/compile')).toEqual({
      name: 'step',
      params: { builder: 'q', number: '3', step: 'compile' },
    });
    expect(paths.step('q', 3, 'unit tests')).toBe('/builders/q/builds/3/steps/unit%20tests');
  });

  it('reports unknown routes', () => {
    expect(matchRoute('/nope').name).toBe('notFound');
    expect(matchRoute('/builders/q/builds').name).toBe('notFound');
    expect(matchRoute('/builders/%E0%A4%A/builds/1').name).toBe('notFound');
  });

  it('knows server paths', () => {
    expect(isServerPath('/api/v1/builders')).toBe(true);
    expect(isServerPath('/rss')).toBe(true);
    expect(isServerPath('/waterfall')).toBe(false);
  });

  it('accepts only local paths as next', () => {
    expect(safeNext('/waterfall?builder=a')).toBe('/waterfall?builder=a');
    for (const bad of [null, '', 'waterfall', '//evil.example/', '/\\evil.example', 'https://x/'])
      expect(safeNext(bad), String(bad)).toBe('/');
  });

  it('builds paths', () => {
    expect(paths.log('a/b', 1, 2, 'stdio')).toBe('/builders/a%2Fb/builds/1/steps/2/logs/stdio');
    expect(paths.hook(3)).toBe('/hooks/3');
    expect(paths.worker('a/b')).toBe('/workers/a%2Fb');
    expect(paths.change(12)).toBe('/changes/12');
    expect(paths.hooks()).toBe('/hooks');
    expect(paths.hooks('', 0)).toBe('/hooks');
    expect(paths.hooks('git lab', 50)).toBe('/hooks?dialect=git+lab&offset=50');
  });
});
