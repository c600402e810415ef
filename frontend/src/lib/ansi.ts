// Terminal styles in log lines: ANSI SGR sequences (16, 256 and 24-bit colours, bold, dim,
// italic, underline, inverse, strike) parsed into segments of plain text with a style. Every
// other escape sequence and control character is dropped; a carriage return starts the line
// again, as a terminal would show a progress bar. Style does not carry from line to line.
// The text is only ever rendered as text.

/** A palette index (0–255) or a `#rrggbb` colour. */
export type AnsiColor = number | string;

export interface AnsiStyle {
  fg?: AnsiColor;
  bg?: AnsiColor;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
  strike?: boolean;
}

export interface Segment {
  text: string;
  style: AnsiStyle;
}

const ESC = '\x1b';

function sameStyle(a: AnsiStyle, b: AnsiStyle): boolean {
  const ka = Object.keys(a) as (keyof AnsiStyle)[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

const hex2 = (n: number) =>
  Math.max(0, Math.min(255, n | 0))
    .toString(16)
    .padStart(2, '0');

/** Reads an extended colour (`5;N` or `2;R;G;B` after 38/48) from `p` at `i`; returns it and the next index. */
function extendedColor(p: number[], i: number): [AnsiColor | undefined, number] {
  if (p[i] === 5) return [p[i + 1] != null && p[i + 1] <= 255 ? p[i + 1] : undefined, i + 2];
  if (p[i] === 2) return [`#${hex2(p[i + 1])}${hex2(p[i + 2])}${hex2(p[i + 3])}`, i + 4];
  return [undefined, p.length];
}

/** Applies one SGR parameter list (`"1;31"`, `"38;5;208"`, `"38:2::255:0:0"`) to a style. */
export function applySgr(style: AnsiStyle, params: string): AnsiStyle {
  const codes: number[] = [];
  for (const group of params === '' ? ['0'] : params.split(';')) {
    const sub = group.split(':').map((x) => (x === '' ? 0 : Number(x)));
    if (sub.length === 1) codes.push(sub[0]);
    // Colon sub-parameters (ITU T.416): 38:2:<colour space>:R:G:B, 38:2:R:G:B, 38:5:N.
    else if ((sub[0] === 38 || sub[0] === 48) && sub[1] === 2)
      codes.push(sub[0], 2, ...sub.slice(sub.length >= 6 ? 3 : 2, sub.length >= 6 ? 6 : 5));
    else if (sub[0] === 38 || sub[0] === 48) codes.push(sub[0], ...sub.slice(1, 3));
    // Others (4:3, a curly underline) keep their main code.
    else codes.push(sub[0]);
  }
  return applyCodes({ ...style }, codes);
}

function applyCodes(style: AnsiStyle, codes: number[]): AnsiStyle {
  const s = style;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) for (const k of Object.keys(s)) delete s[k as keyof AnsiStyle];
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 7) s.inverse = true;
    else if (c === 9) s.strike = true;
    else if (c === 22) {
      delete s.bold;
      delete s.dim;
    } else if (c === 23) delete s.italic;
    else if (c === 24) delete s.underline;
    else if (c === 27) delete s.inverse;
    else if (c === 29) delete s.strike;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c === 39) delete s.fg;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c === 49) delete s.bg;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 38 || c === 48) {
      const [color, next] = extendedColor(codes, i + 1);
      if (color !== undefined) {
        if (c === 38) s.fg = color;
        else s.bg = color;
      }
      i = next - 1;
    }
  }
  return s;
}

/** Where the escape sequence starting at `text[i]` (an ESC) ends, and its SGR parameters if it is one. */
function escapeAt(text: string, i: number): { end: number; sgr?: string } {
  const kind = text[i + 1];
  if (kind === '[') {
    let j = i + 2;
    while (j < text.length && !(text[j] >= '@' && text[j] <= '~')) j++;
    const end = Math.min(j + 1, text.length);
    return text[j] === 'm' ? { end, sgr: text.slice(i + 2, j) } : { end };
  }
  if (kind === ']' || kind === 'P' || kind === 'X' || kind === '^' || kind === '_') {
    for (let j = i + 2; j < text.length; j++) {
      if (text[j] === '\x07') return { end: j + 1 };
      if (text[j] === ESC && text[j + 1] === '\\') return { end: j + 2 };
    }
    return { end: text.length };
  }
  let j = i + 1;
  while (j < text.length && text[j] >= ' ' && text[j] <= '/') j++;
  return { end: Math.min(j + 1, text.length) };
}

// eslint-disable-next-line no-control-regex
const SPECIAL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** The styled segments of one log line. */
export function parseAnsi(text: string): Segment[] {
  if (!SPECIAL.test(text)) return text ? [{ text, style: {} }] : [];
  const out: Segment[] = [];
  let style: AnsiStyle = {};
  let buf = '';
  const flush = () => {
    if (!buf) return;
    const last = out[out.length - 1];
    if (last && sameStyle(last.style, style)) last.text += buf;
    else out.push({ text: buf, style });
    buf = '';
  };
  for (let i = 0; i < text.length;) {
    const ch = text[i];
    if (ch === ESC) {
      const { end, sgr } = escapeAt(text, i);
      if (sgr !== undefined) {
        flush();
        style = applySgr(style, sgr);
      }
      i = end;
    } else if (ch === '\r') {
      buf = '';
      out.length = 0;
      i++;
    } else {
      if (!SPECIAL.test(ch)) buf += ch;
      i++;
    }
  }
  flush();
  return out;
}

/** The text a line shows: what `parseAnsi` keeps. */
export function plainText(text: string): string {
  return parseAnsi(text)
    .map((s) => s.text)
    .join('');
}

const CUBE = [0, 95, 135, 175, 215, 255];

/** A CSS colour: the theme's variable for the 16 basic colours, else the xterm palette. */
export function cssColor(c: AnsiColor): string {
  if (typeof c === 'string') return c;
  if (c < 16) return `var(--ansi-${c})`;
  if (c >= 232) {
    const v = 8 + (c - 232) * 10;
    return `#${hex2(v)}${hex2(v)}${hex2(v)}`;
  }
  const n = c - 16;
  return `#${hex2(CUBE[Math.floor(n / 36)])}${hex2(CUBE[Math.floor(n / 6) % 6])}${hex2(CUBE[n % 6])}`;
}

/** Inline CSS for a style; empty for plain text. */
export function styleCss(s: AnsiStyle): Record<string, string> {
  const css: Record<string, string> = {};
  let fg = s.fg === undefined ? undefined : cssColor(s.fg);
  let bg = s.bg === undefined ? undefined : cssColor(s.bg);
  if (s.inverse) [fg, bg] = [bg ?? 'var(--log-bg)', fg ?? 'var(--fg)'];
  if (fg) css.color = fg;
  if (bg) css.backgroundColor = bg;
  if (s.bold) css.fontWeight = '700';
  if (s.dim) css.opacity = '0.7';
  if (s.italic) css.fontStyle = 'italic';
  const deco = [s.underline && 'underline', s.strike && 'line-through'].filter(Boolean);
  if (deco.length) css.textDecoration = deco.join(' ');
  return css;
}

/** Segments cut where `query` occurs (ignoring case), those parts flagged as matches. */
export function markMatches(segments: Segment[], query: string): (Segment & { match?: boolean })[] {
  if (!query) return segments;
  const full = segments.map((s) => s.text).join('');
  const hay = full.toLowerCase();
  const needle = query.toLowerCase();
  // Lowercasing can change lengths outside ASCII; then offsets would not line up.
  if (hay.length !== full.length || !needle) return segments;
  const ranges: [number, number][] = [];
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + needle.length))
    ranges.push([at, at + needle.length]);
  if (!ranges.length) return segments;
  const out: (Segment & { match?: boolean })[] = [];
  let pos = 0;
  for (const seg of segments) {
    const end = pos + seg.text.length;
    let cut = pos;
    for (const [a, b] of ranges) {
      if (b <= cut || a >= end) continue;
      if (a > cut) out.push({ text: full.slice(cut, a), style: seg.style });
      const to = Math.min(b, end);
      out.push({ text: full.slice(Math.max(a, cut), to), style: seg.style, match: true });
      cut = to;
    }
    if (cut < end) out.push({ text: full.slice(cut, end), style: seg.style });
    pos = end;
  }
  return out;
}
