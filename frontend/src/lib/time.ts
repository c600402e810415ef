// Time and duration formatting (local time, as 0.8.9's pages).

const pad = (n: number) => String(n).padStart(2, '0');

export function parseTime(s: string | null | undefined): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function date(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function dateTime(s: string | null | undefined): string {
  const t = parseTime(s);
  return t == null ? '—' : `${date(t)} ${clock(t)}`;
}

/** "1h 02m 03s", "4m 05s", "6s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h ${pad(m)}m ${pad(r)}s`;
  if (m) return `${m}m ${pad(r)}s`;
  return `${r}s`;
}

/** Duration between two timestamps; a missing end means "until now". */
export function elapsed(
  start: string | null | undefined,
  end: string | null | undefined,
  now = Date.now(),
): string {
  const a = parseTime(start);
  if (a == null) return '—';
  const b = parseTime(end) ?? now;
  return duration((b - a) / 1000);
}
