// Estimated times of arrival of running builds, from their builder's recent average
// duration (the server's `average_duration`), as 0.8.9's "ETA in ~X mins".
import { duration, parseTime } from './time';

/** Seconds until a build started at `startedAt` should end; negative when overdue. */
export function etaSeconds(
  startedAt: string | null | undefined,
  average: number | null | undefined,
  now: number,
): number | null {
  const start = parseTime(startedAt);
  if (start == null || average == null) return null;
  return Math.round((start + average * 1000 - now) / 1000);
}

/** "ETA 3m 10s", "overdue by 12s", or "" when unknown. */
export function etaText(seconds: number | null): string {
  if (seconds == null) return '';
  return seconds >= 0 ? `ETA ${duration(seconds)}` : `overdue by ${duration(-seconds)}`;
}
