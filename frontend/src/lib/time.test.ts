import { describe, expect, it } from 'vitest';
import { duration, elapsed, parseTime } from './time';

describe('time', () => {
  it('formats durations', () => {
    expect(duration(0)).toBe('0s');
    expect(duration(65)).toBe('1m 05s');
    expect(duration(3723)).toBe('1h 02m 03s');
    expect(duration(-3)).toBe('0s');
  });

  it('measures elapsed time', () => {
    expect(elapsed('2024-01-01T00:00:00Z', '2024-01-01T00:00:09Z')).toBe('9s');
    expect(elapsed('2024-01-01T00:00:00Z', null, Date.parse('2024-01-01T00:01:00Z'))).toBe(
      '1m 00s',
    );
    expect(elapsed(null, null)).toBe('—');
    expect(parseTime('garbage')).toBeNull();
  });
});
