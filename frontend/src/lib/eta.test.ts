import { describe, expect, it } from 'vitest';
import { etaSeconds, etaText } from './eta';

describe('eta', () => {
  const start = '2024-05-01T12:00:00Z';
  const t = (s: number) => Date.parse(start) + s * 1000;
  it('counts down from the average duration', () => {
    expect(etaSeconds(start, 300, t(100))).toBe(200);
    expect(etaText(200)).toBe('ETA 3m 20s');
  });
  it('says when a build is overdue, and nothing when unknown', () => {
    expect(etaSeconds(start, 60, t(72))).toBe(-12);
    expect(etaText(-12)).toBe('overdue by 12s');
    expect(etaSeconds(start, undefined, t(0))).toBeNull();
    expect(etaText(null)).toBe('');
  });
});
