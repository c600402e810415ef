import { describe, expect, it } from 'vitest';
import { cssColor, markMatches, parseAnsi, plainText, styleCss } from './ansi';

describe('parseAnsi', () => {
  it('leaves plain text as one unstyled segment', () => {
    expect(parseAnsi('hello\tworld')).toEqual([{ text: 'hello\tworld', style: {} }]);
    expect(parseAnsi('')).toEqual([]);
  });

  it('reads the 16 basic colours, bright ones and backgrounds', () => {
    expect(parseAnsi('\x1b[31mred\x1b[0m plain \x1b[1;92;44mbold\x1b[m')).toEqual([
      { text: 'red', style: { fg: 1 } },
      { text: ' plain ', style: {} },
      { text: 'bold', style: { bold: true, fg: 10, bg: 4 } },
    ]);
    expect(parseAnsi('\x1b[103mx')[0].style).toEqual({ bg: 11 });
  });

  it('reads 256-colour and truecolour, with semicolons or colons', () => {
    expect(parseAnsi('\x1b[38;5;208ma')[0].style).toEqual({ fg: 208 });
    expect(parseAnsi('\x1b[48;5;21ma')[0].style).toEqual({ bg: 21 });
    expect(parseAnsi('\x1b[38;2;255;128;0ma')[0].style).toEqual({ fg: '#ff8000' });
    expect(parseAnsi('\x1b[48;2;1;2;3;1ma')[0].style).toEqual({ bg: '#010203', bold: true });
    expect(parseAnsi('\x1b[38:2::10:20:30ma')[0].style).toEqual({ fg: '#0a141e' });
    expect(parseAnsi('\x1b[38:5:9ma')[0].style).toEqual({ fg: 9 });
  });

  it('turns attributes on and off one by one', () => {
    const segs = parseAnsi('\x1b[1;3;4;9mA\x1b[22mB\x1b[23;24mC\x1b[29;7mD\x1b[27;39;49mE');
    expect(segs.map((s) => [s.text, s.style])).toEqual([
      ['A', { bold: true, italic: true, underline: true, strike: true }],
      ['B', { italic: true, underline: true, strike: true }],
      ['C', { strike: true }],
      ['D', { inverse: true }],
      ['E', {}],
    ]);
  });

  it('drops other escape sequences and control characters', () => {
    expect(
      plainText(
        '\x1b[2K\x1b[1Gdone\x1b]0;title\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1b(B!\x07',
      ),
    ).toBe('done link!');
  });

  it('keeps what follows the last carriage return, in the style then current', () => {
    expect(parseAnsi('10%\r\x1b[32m50%\r100%')).toEqual([{ text: '100%', style: { fg: 2 } }]);
    expect(plainText('section_start:1:x\r\x1b[0KHeader')).toBe('Header');
  });

  it('merges neighbours of one style and tolerates truncated sequences', () => {
    expect(parseAnsi('\x1b[31ma\x1b[31mb')).toEqual([{ text: 'ab', style: { fg: 1 } }]);
    expect(plainText('cut\x1b[3')).toBe('cut');
    expect(plainText('cut\x1b')).toBe('cut');
  });
});

describe('cssColor and styleCss', () => {
  it('maps basic colours to theme variables and the rest to the xterm palette', () => {
    expect(cssColor(1)).toBe('var(--ansi-1)');
    expect(cssColor(15)).toBe('var(--ansi-15)');
    expect(cssColor(16)).toBe('#000000');
    expect(cssColor(196)).toBe('#ff0000');
    expect(cssColor(231)).toBe('#ffffff');
    expect(cssColor(232)).toBe('#080808');
    expect(cssColor(255)).toBe('#eeeeee');
    expect(cssColor('#123456')).toBe('#123456');
  });

  it('writes inline styles, swapping colours for inverse', () => {
    expect(styleCss({})).toEqual({});
    expect(styleCss({ fg: 1, bold: true, underline: true, strike: true })).toEqual({
      color: 'var(--ansi-1)',
      fontWeight: '700',
      textDecoration: 'underline line-through',
    });
    expect(styleCss({ fg: 2, inverse: true })).toEqual({
      color: 'var(--log-bg)',
      backgroundColor: 'var(--ansi-2)',
    });
  });
});

describe('markMatches', () => {
  it('cuts segments where the query occurs, across style changes, ignoring case', () => {
    const segs = parseAnsi('\x1b[31mFAIL\x1b[0m: fail again');
    expect(markMatches(segs, 'fail: f')).toEqual([
      { text: 'FAIL', style: { fg: 1 }, match: true },
      { text: ': f', style: {}, match: true },
      { text: 'ail again', style: {} },
    ]);
    expect(markMatches(segs, 'AGAIN').slice(-1)).toEqual([
      { text: 'again', style: {}, match: true },
    ]);
    expect(markMatches(segs, 'absent')).toBe(segs);
    expect(markMatches(segs, '')).toBe(segs);
  });
});
