// What the workers and about pages say about a worker or the master, as pure functions.
import type { Status } from './results';

/** The parts of a worker that decide how it is shown. */
export interface WorkerFlags {
  connected: boolean;
  paused: boolean;
  graceful: boolean;
  running_builds: number;
}

/** The box a worker's state is shown in, and its words. */
export function workerState(w: WorkerFlags): { status: Status; label: string } {
  if (!w.connected) return { status: 'offline', label: 'offline' };
  if (w.graceful) return { status: 'paused', label: 'shutting down' };
  if (w.paused) return { status: 'paused', label: 'paused' };
  if (w.running_builds > 0) return { status: 'running', label: 'building' };
  return { status: 'idle', label: 'idle' };
}

/** The host info keys shown first, in this order; the rest follow by name. */
const HOST_KEYS = ['hostname', 'os', 'arch', 'cpus'];

/** Host info entries, the well-known ones first. */
export function hostEntries(info: Record<string, string>): [string, string][] {
  const known = HOST_KEYS.filter((k) => info[k] != null).map((k): [string, string] => [k, info[k]]);
  const rest = Object.keys(info)
    .filter((k) => !HOST_KEYS.includes(k))
    .sort()
    .map((k): [string, string] => [k, info[k]]);
  return [...known, ...rest];
}

/** No-break space: a line wraps between the parts of a summary, never inside one. */
const NBSP = '\u00a0';

/** One line for a table cell: "build-7 · linux x86_64 · 8 CPUs". */
export function hostSummary(info: Record<string, string>): string {
  const system = [info.os, info.arch].filter(Boolean).join(NBSP);
  const cpus = info.cpus ? `${info.cpus}${NBSP}CPU${info.cpus === '1' ? '' : 's'}` : '';
  return [info.hostname, system, cpus].filter(Boolean).join(' · ');
}

/** "812 B", "4.2 KiB", "37.5 MiB", "1.2 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = Math.max(0, bytes);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} ${units[i]}` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** An uptime in words: "3 days 4 hours", "2 hours 5 minutes", "42 seconds". */
export function uptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts: [number, string][] = [
    [Math.floor(s / 86400), 'day'],
    [Math.floor((s % 86400) / 3600), 'hour'],
    [Math.floor((s % 3600) / 60), 'minute'],
    [s % 60, 'second'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return '0 seconds';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}${n === 1 ? '' : 's'}`)
    .join(' ');
}

/** Whether an event may change what the workers pages show: a worker's state, or its builds. */
export function changesWorkers(ev: { type: string }): boolean {
  return (
    ev.type.startsWith('worker.') || ev.type === 'build.started' || ev.type === 'build.finished'
  );
}
