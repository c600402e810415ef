import { describe, expect, it } from 'vitest';
import {
  CLASS_STATUS,
  headerEntries,
  isJsonType,
  offsetParam,
  prettyBody,
  statusClass,
} from './hooks';

describe('statusClass', () => {
  it('groups HTTP statuses by their first digit', () => {
    expect(statusClass(200)).toBe('2xx');
    expect(statusClass(202)).toBe('2xx');
    expect(statusClass(304)).toBe('3xx');
    expect(statusClass(400)).toBe('4xx');
    expect(statusClass(499)).toBe('4xx');
    expect(statusClass(500)).toBe('5xx');
    expect(statusClass(503)).toBe('5xx');
  });

  it('calls anything else "other"', () => {
    for (const s of [0, 99, 101, 600, -1]) expect(statusClass(s), String(s)).toBe('other');
  });

  it('colours the classes with result colours', () => {
    expect(CLASS_STATUS['2xx']).toBe('success');
    expect(CLASS_STATUS['4xx']).toBe('warnings');
    expect(CLASS_STATUS['5xx']).toBe('failure');
  });
});

describe('prettyBody', () => {
  it('indents JSON objects and arrays', () => {
    expect(prettyBody('{"a":1,"b":[true,null]}')).toEqual({
      text: '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}',
      json: true,
    });
    expect(prettyBody(' [1] \n')).toEqual({ text: '[\n  1\n]', json: true });
  });

  it('keeps everything else as received', () => {
    for (const body of ['author=ann&branch=main', '{"broken', '{}x', '42', '"s"', '', '  '])
      expect(prettyBody(body), body).toEqual({ text: body, json: false });
  });
});

describe('isJsonType', () => {
  it('knows JSON media types, parameters and case aside', () => {
    expect(isJsonType('application/json')).toBe(true);
    expect(isJsonType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonType('application/vnd.github+json')).toBe(true);
    expect(isJsonType('application/x-www-form-urlencoded')).toBe(false);
    expect(isJsonType(undefined)).toBe(false);
  });
});

describe('headerEntries', () => {
  it('sorts the headers and flattens their values', () => {
    expect(
      headerEntries({ 'x-b': 'two', 'content-type': 'application/json', 'x-a': ['1', '2'] }),
    ).toEqual([
      ['content-type', 'application/json'],
      ['x-a', '1, 2'],
      ['x-b', 'two'],
    ]);
    expect(headerEntries({ n: 3 })).toEqual([['n', '3']]);
  });

  it('ignores what is not an object', () => {
    for (const h of [null, undefined, 'x', 3, ['a']]) expect(headerEntries(h)).toEqual([]);
  });
});

describe('offsetParam', () => {
  it('accepts non-negative integers only', () => {
    expect(offsetParam('50')).toBe(50);
    for (const v of [null, '', '-5', '1.5', 'x']) expect(offsetParam(v), String(v)).toBe(0);
  });
});
