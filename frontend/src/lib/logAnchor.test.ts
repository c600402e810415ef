import { describe, expect, it } from 'vitest';
import { clickRange, formatAnchor, parseAnchor } from './logAnchor';

describe('line anchors', () => {
  it('reads #L12 and #L12-L20 (either order) as 0-based lines', () => {
    expect(parseAnchor('#L12')).toEqual({ from: 11, to: 11 });
    expect(parseAnchor('#L12-L20')).toEqual({ from: 11, to: 19 });
    expect(parseAnchor('#L20-12')).toEqual({ from: 11, to: 19 });
    expect(parseAnchor('#L0')).toBeNull();
    expect(parseAnchor('#top')).toBeNull();
    expect(parseAnchor('')).toBeNull();
  });

  it('writes them back', () => {
    expect(formatAnchor({ from: 11, to: 11 })).toBe('#L12');
    expect(formatAnchor({ from: 11, to: 19 })).toBe('#L12-L20');
  });

  it('selects a line on click and a range on shift-click', () => {
    expect(clickRange(null, 4, true)).toEqual({ from: 4, to: 4 });
    expect(clickRange({ from: 9, to: 9 }, 4, false)).toEqual({ from: 4, to: 4 });
    expect(clickRange({ from: 9, to: 9 }, 4, true)).toEqual({ from: 4, to: 9 });
    expect(clickRange({ from: 9, to: 12 }, 15, true)).toEqual({ from: 9, to: 15 });
  });
});
