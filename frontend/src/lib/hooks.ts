// Pure helpers for the change hook delivery pages.
import type { Status } from './results';

/** An HTTP status's class, as the delivery pages colour it. */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'other';

export function statusClass(status: number): StatusClass {
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  if (status >= 500 && status < 600) return '5xx';
  return 'other';
}

/** The result colour (lib/results.ts) each status class borrows. */
export const CLASS_STATUS: Record<StatusClass, Status> = {
  '2xx': 'success',
  '3xx': 'skipped',
  '4xx': 'warnings',
  '5xx': 'failure',
  other: 'exception',
};

/** Whether `contentType` names JSON (`application/json`, `application/vnd.x+json`, …). */
export function isJsonType(contentType: string | null | undefined): boolean {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return media === 'application/json' || media.endsWith('+json') || media === 'text/json';
}

/**
 * The body to show: indented when it parses as JSON (whatever its content type says, since a
 * misconfigured webhook is what one debugs here), else as received.
 */
export function prettyBody(body: string): { text: string; json: boolean } {
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { text: JSON.stringify(JSON.parse(trimmed), null, 2), json: true };
    } catch {
      // not JSON after all: show it as it came
    }
  }
  return { text: body, json: false };
}

/** The stored headers as sorted name/value pairs (the API types them loosely). */
export function headerEntries(headers: unknown): [string, string][] {
  if (headers == null || typeof headers !== 'object' || Array.isArray(headers)) return [];
  return Object.entries(headers as Record<string, unknown>)
    .map(([k, v]): [string, string] => [k, headerValue(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function headerValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(headerValue).join(', ');
  return JSON.stringify(v) ?? '';
}

/** A non-negative integer from a query argument, else 0. */
export function offsetParam(value: string | null): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : 0;
}
