import { render } from 'preact';
import { describe, expect, it } from 'vitest';
import { BuilderPlots } from './BuilderPlots';

describe('BuilderPlots', () => {
  it('loads the three plots lazily, named as path segments, again after each build', () => {
    const root = document.createElement('div');
    render(<BuilderPlots builder="app linux/x" version={7} />, root);
    const plots = [...root.querySelectorAll<HTMLImageElement>('[data-plot] img')];
    expect(plots.map((img) => img.getAttribute('src'))).toEqual([
      '/plots/builders/app%20linux%2Fx/durations.png?width=480&height=240&v=7',
      '/plots/builders/app%20linux%2Fx/results.png?width=480&height=240&v=7',
      '/plots/builders/app%20linux%2Fx/steps.png?width=480&height=240&v=7',
    ]);
    expect(plots.every((img) => img.getAttribute('loading') === 'lazy')).toBe(true);
    const feeds = [...root.querySelectorAll('a')].map((a) => a.getAttribute('href'));
    expect(feeds).toEqual(['/rss?builder=app%20linux%2Fx', '/atom?builder=app%20linux%2Fx']);
  });
});
