import { describe, expect, it } from 'vitest';
import {
  COLOURS,
  LABELS,
  RESULTS,
  isResults,
  resultCode,
  statusOf,
  statusStyle,
  stepStatus,
  worstStatus,
} from './results';

describe('results', () => {
  it('lists the seven results in code order', () => {
    expect(RESULTS).toEqual([
      'success',
      'warnings',
      'failure',
      'skipped',
      'exception',
      'retry',
      'cancelled',
    ]);
    expect(resultCode('success')).toBe(0);
    expect(resultCode('retry')).toBe(5);
    expect(resultCode('cancelled')).toBe(6);
  });

  it('uses the 0.8.9 colours', () => {
    expect(COLOURS.success.background).toBe('#8d4');
    expect(COLOURS.warnings.background).toBe('#fa3');
    expect(COLOURS.failure.background).toBe('#e88');
    expect(COLOURS.skipped.background).toBe('#AADDEE');
    expect(COLOURS.exception.background).toBe('#c6c');
    expect(COLOURS.retry.background).toBe('#c6c');
    expect(COLOURS.cancelled.background).toBe('#ecc');
    expect(COLOURS.running.background).toBe('#fd3');
    expect(COLOURS.offline.background).toBe('#777');
  });

  it('has a colour and label for every result', () => {
    for (const r of RESULTS) {
      expect(COLOURS[r]).toBeDefined();
      expect(LABELS[r]).toBe(r);
    }
  });

  it('recognises result names', () => {
    expect(isResults('success')).toBe(true);
    expect(isResults('running')).toBe(false);
    expect(isResults(null)).toBe(false);
  });

  it('maps unfinished things to running', () => {
    expect(statusOf({ results: null })).toBe('running');
    expect(statusOf({ results: 'failure' })).toBe('failure');
  });

  it('maps steps that have not started to pending', () => {
    expect(stepStatus({ results: null, started_at: null, complete: false })).toBe('pending');
    expect(stepStatus({ results: null, started_at: '2024-01-01T00:00:00Z', complete: false })).toBe(
      'running',
    );
    expect(stepStatus({ results: 'warnings', started_at: 'x', complete: true })).toBe('warnings');
  });

  it('builds inline styles', () => {
    expect(statusStyle('success')).toEqual({
      background: '#8d4',
      color: '#000',
      borderColor: '#4F8530',
    });
  });

  it('follows the 0.8.9 worst_status precedence', () => {
    expect(worstStatus('success', 'failure')).toBe('failure');
    expect(worstStatus('retry', 'exception')).toBe('retry');
    expect(worstStatus('warnings', 'skipped')).toBe('warnings');
    expect(worstStatus('skipped', 'success')).toBe('skipped');
  });
});
