import { describe, expect, it } from 'vitest';
import { adapterCheck, bufferCheck, formatChecks, parseMetrics, tierCheck } from './poke-checks.js';

describe('siem poke checks', () => {
  it('an enabled adapter must run; a disabled one is only reported; a failed one says why', () => {
    expect(
      adapterCheck({
        name: 'syslog_udp',
        state: 'running',
        listen: 'udp://0.0.0.0:5514',
        options: { enabled: true },
      }),
    ).toEqual({ name: 'adapter syslog_udp', status: 'ok', detail: 'running on udp://0.0.0.0:5514' });
    expect(
      adapterCheck({ name: 'syslog_tcp', state: 'stopped', listen: null, options: { enabled: true } }),
    ).toMatchObject({ status: 'failed', detail: 'stopped, but enabled in the configuration' });
    expect(
      adapterCheck({ name: 'syslog_tls', state: 'stopped', listen: null, options: { enabled: false } }),
    ).toMatchObject({ status: 'skipped' });
    expect(
      adapterCheck({
        name: 'x',
        state: 'failed',
        listen: null,
        error: 'EADDRINUSE',
        options: { enabled: true },
      }),
    ).toMatchObject({ status: 'failed', detail: 'failed: EADDRINUSE' });
  });

  it('a buffer fails while it holds back the intake or is nearly full', () => {
    expect(
      bufferCheck('main', { memory_fill_ratio: 0.25, memory_events: 10, disk_bytes: 2048 }),
    ).toMatchObject({
      status: 'ok',
      detail: 'memory 25.0 % full (10 events), 2.0 KiB on disk in 0 segments',
    });
    expect(bufferCheck('main', { memory_fill_ratio: 0.1, paused: 1 }).status).toBe('failed');
    expect(bufferCheck('main', { memory_fill_ratio: 0.97, spilling: 1 })).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/^nearly full: .*spilling to disk$/),
    });
  });

  it('reads the tier job from /metrics: ok runs, every run failed, overdue, not due yet', () => {
    const metrics = (ok: number, failed: number, started = 1000) =>
      parseMetrics(
        [
          '# HELP siem_storage_tier_runs_total Tier job runs',
          '# TYPE siem_storage_tier_runs_total counter',
          `siem_storage_tier_runs_total{result="ok"} ${ok}`,
          `siem_storage_tier_runs_total{result="failed"} ${failed}`,
          `process_start_time_seconds ${started}`,
        ].join('\n'),
      );
    expect(tierCheck(metrics(2, 1), 5000, 3600)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^2 ok, 1 failed/),
    });
    expect(tierCheck(metrics(0, 3), 5000, 3600)).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/every run failed/),
    });
    expect(tierCheck(metrics(0, 0), 1000 + 3600 + 200, 3600)).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/no run in 3800 s/),
    });
    expect(tierCheck(metrics(0, 0), 1010, 3600)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/no run yet.*up 10 s/),
    });
  });

  it('prints one line per check with its mark, the names aligned', () => {
    const text = formatChecks([
      { name: 'api', status: 'ok', detail: 'live' },
      { name: 'adapter syslog_udp', status: 'failed', detail: 'stopped' },
      { name: 'kafka', status: 'skipped', detail: 'not used' },
    ]);
    expect(text.split('\n')).toEqual([
      '✓ api                 live',
      '✗ adapter syslog_udp  stopped',
      '– kafka               not used',
    ]);
  });
});
