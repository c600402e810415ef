import { describe, expect, it } from 'vitest';
import {
  changesWorkers,
  formatBytes,
  hostEntries,
  hostSummary,
  uptime,
  workerState,
} from './workers';

const base = { connected: true, paused: false, graceful: false, running_builds: 0 };

describe('workers', () => {
  it('names a worker state, shutting down before paused before building', () => {
    expect(workerState({ ...base, connected: false, paused: true })).toEqual({
      status: 'offline',
      label: 'offline',
    });
    expect(workerState({ ...base, graceful: true, paused: true }).label).toBe('shutting down');
    expect(workerState({ ...base, paused: true, running_builds: 2 })).toEqual({
      status: 'paused',
      label: 'paused',
    });
    expect(workerState({ ...base, running_builds: 1 })).toEqual({
      status: 'running',
      label: 'building',
    });
    expect(workerState(base).status).toBe('idle');
  });

  it('lists host info with the well-known keys first', () => {
    const info = { cpus: '8', zeta: 'z', os: 'linux', hostname: 'b7', arch: 'x86_64', alpha: 'a' };
    expect(hostEntries(info).map(([k]) => k)).toEqual([
      'hostname',
      'os',
      'arch',
      'cpus',
      'alpha',
      'zeta',
    ]);
    // Lines wrap between the parts only.
    expect(hostSummary(info)).toBe('b7 · linux\u00a0x86_64 · 8\u00a0CPUs');
    expect(hostSummary({ cpus: '1' })).toBe('1\u00a0CPU');
    expect(hostSummary({})).toBe('');
  });

  it('formats sizes and uptimes', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(4300)).toBe('4.2 KiB');
    expect(formatBytes(39_321_600)).toBe('38 MiB');
    expect(uptime(0)).toBe('0 seconds');
    expect(uptime(42)).toBe('42 seconds');
    expect(uptime(3600 * 2 + 300 + 9)).toBe('2 hours 5 minutes');
    expect(uptime(86400 * 3 + 3600 * 4 + 59)).toBe('3 days 4 hours');
    expect(uptime(86400 + 30)).toBe('1 day');
  });

  it('knows which events change the workers pages', () => {
    for (const type of ['worker.connected', 'worker.paused', 'build.started', 'build.finished'])
      expect(changesWorkers({ type }), type).toBe(true);
    for (const type of ['step.started', 'log.appended', 'change.new'])
      expect(changesWorkers({ type }), type).toBe(false);
  });
});
