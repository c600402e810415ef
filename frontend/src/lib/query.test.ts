import { describe, expect, it } from 'vitest';
import {
  boolArg,
  branchMatches,
  listArg,
  numberArg,
  pageUrl,
  propertyArgs,
  withProperty,
} from './query';

describe('pageUrl', () => {
  it('repeats list arguments and leaves empty ones out', () => {
    expect(
      pageUrl('/waterfall', {
        builder: ['a', 'b c'],
        branch: [],
        show_events: true,
        failures_only: false,
        num_events: 50,
        committer: '',
        last_time: undefined,
      }),
    ).toBe('/waterfall?builder=a&builder=b+c&show_events=true&num_events=50');
    expect(pageUrl('/grid', {})).toBe('/grid');
  });
});

describe('arguments', () => {
  const q = new URLSearchParams('builder=a&builder=b,c&show=d&flag=1&n=12&bad=-3&empty=');
  it('reads lists, repeated or comma-separated, under several names', () => {
    expect(listArg(q, 'builder', 'show')).toEqual(['a', 'b', 'c', 'd']);
    expect(listArg(q, 'empty')).toEqual([]);
  });
  it('reads booleans and numbers', () => {
    expect(boolArg(q, 'flag')).toBe(true);
    expect(boolArg(q, 'missing')).toBe(false);
    expect(numberArg(q, 'n')).toBe(12);
    expect(numberArg(q, 'bad')).toBeUndefined();
    expect(numberArg(q, 'empty')).toBeUndefined();
  });
  it('matches branches, trunk meaning the default branch too', () => {
    expect(branchMatches([], 'x')).toBe(true);
    expect(branchMatches(['main'], 'main')).toBe(true);
    expect(branchMatches(['main'], null)).toBe(false);
    expect(branchMatches(['trunk'], null)).toBe(true);
  });
});

describe('property filters', () => {
  it('reads property.NAME arguments and sets or removes one', () => {
    const q = new URLSearchParams('numbuilds=5&property.color=blue&property.=x&other=1');
    expect(propertyArgs(q)).toEqual([['color', 'blue']]);
    expect(withProperty(q, 'os', 'linux')).toBe(
      'numbuilds=5&property.color=blue&property.=x&other=1&property.os=linux',
    );
    expect(withProperty(q, 'color', null)).toBe('numbuilds=5&property.=x&other=1');
    expect(withProperty(q, ' ', 'v')).toBe(q.toString());
  });
});
