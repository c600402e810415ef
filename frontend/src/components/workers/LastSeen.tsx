import { dateTime, duration, parseTime } from '~/lib/time';

/** When a worker was last heard from, with how long ago. */
export function LastSeen({ at, now }: { at?: string | null; now: number }) {
  const t = parseTime(at);
  if (t == null) return <span class="muted">never</span>;
  return (
    <time dateTime={at ?? undefined} title={dateTime(at)}>
      {duration((now - t) / 1000)} ago
    </time>
  );
}
