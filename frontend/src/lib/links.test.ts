import { describe, expect, it } from 'vitest';
import { safeHref, shortRev } from './links';

describe('safeHref', () => {
  it('keeps http(s) and site paths only', () => {
    expect(safeHref('https://github.com/a/b/commit/1')).toBe('https://github.com/a/b/commit/1');
    expect(safeHref('HTTP://x')).toBe('HTTP://x');
    expect(safeHref('/changes/3')).toBe('/changes/3');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref(' JavaScript:alert(1)')).toBeUndefined();
    expect(safeHref('//evil.example/x')).toBeUndefined();
    expect(safeHref('data:text/html,<b>')).toBeUndefined();
    expect(safeHref(null)).toBeUndefined();
  });
});

describe('shortRev', () => {
  it('shortens hashes and keeps other revisions', () => {
    expect(shortRev('0123456789abcdef0123456789abcdef01234567')).toBe('0123456789ab');
    expect(shortRev('1234')).toBe('1234');
    expect(shortRev('v1.2.3')).toBe('v1.2.3');
    expect(shortRev(undefined)).toBe('');
  });
});
