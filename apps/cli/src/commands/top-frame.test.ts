import { describe, expect, it } from 'vitest';
import { parseMetrics } from './poke-checks.js';
import { histogramTotals, meanSince, renderTopFrame } from './top-frame.js';

const stats = {
  at: '2026-12-03T10:00:00.000Z',
  sample_ms: 1000,
  covered_seconds: 120,
  adapters: {
    syslog_udp: {
      received_events: { '1m': 1500.5, '5m': 1200, '15m': 400 },
      kernel_drops: { '1m': 0, '5m': 0, '15m': 0 },
    },
    syslog_tcp: { discarded_events: { '1m': 0, '5m': 0, '15m': 0 } },
  },
  stages: {
    received: { '1m': 1500.5, '5m': 1200, '15m': 400 },
    stored: { '1m': 1490, '5m': null, '15m': null },
  },
  buffer: {
    main: {
      memory_fill_ratio: 0.125,
      memory_events: 500,
      memory_bytes: 2048,
      disk_bytes: 0,
      disk_segments: 0,
      spilling: 0,
      paused: 1,
    },
  },
  errors: {
    buffer_dropped: { '1m': 3, '5m': 1, '15m': 0.5 },
    dead_letters_by_reason: { normalize_failed: { '1m': 0.25, '5m': 0.1, '15m': 0.05 } },
    ratio: { '1m': 0.002, '5m': 0.001, '15m': null },
  },
};

describe('siem top frame', () => {
  it('shows rates per adapter and stage, the buffer, dependencies with latency, drops by reason', () => {
    const frame = renderTopFrame({
      api: 'http://127.0.0.1:8080',
      stats,
      ready: { database: { ok: true }, kafka: { ok: false, detail: 'brokers unreachable' } },
      readyMs: 4.2,
      latency: { kafka: null, database: 0.0123 },
      color: false,
    });
    const lines = frame.split('\n');
    expect(lines[0]).toContain('siem top  http://127.0.0.1:8080  at 2026-12-03T10:00:00.000Z');
    expect(lines.find((l) => l.includes('syslog_udp.received_events'))).toMatch(/1,501\s+1,200\s+400$/);
    // counters that never moved stay off the screen; received events always show
    expect(frame).not.toContain('kernel_drops');
    expect(frame).not.toContain('discarded_events');
    expect(lines.find((l) => l.includes('stored'))).toMatch(/1,490\s+-\s+-$/);
    expect(frame).toContain(
      'main: memory 12.5 % (500 events, 2.0 KiB), disk 0 B in 0 segments, spilling no, PAUSED',
    );
    expect(frame).toContain('database   ok, write 12.3 ms');
    expect(frame).toContain('kafka      NOT READY: brokers unreachable, delivery -');
    expect(lines.find((l) => l.includes('dead_letters_by_reason.normalize_failed'))).toMatch(
      /0\.250\s+0\.100\s+0\.050$/,
    );
    expect(frame).toContain('share of received events lost: 0.002 (1m)  0.001 (5m)');
    expect(frame).not.toMatch(/\x1b\[/); // no colour codes when asked for none
  });

  it('says when the API stopped answering, keeping the last figures', () => {
    const frame = renderTopFrame({
      api: 'x',
      stats,
      ready: null,
      readyMs: null,
      latency: { kafka: null, database: null },
      error: 'ECONNREFUSED',
      color: true,
    });
    expect(frame).toContain('API: ECONNREFUSED (showing the last answer)');
    expect(frame).toContain('readiness unknown');
  });

  it('takes histogram means between two readings, summed over labels', () => {
    const m = parseMetrics(
      [
        'siem_storage_write_duration_seconds_sum{method="copy"} 3',
        'siem_storage_write_duration_seconds_count{method="copy"} 10',
        'siem_storage_write_duration_seconds_sum{method="insert"} 1',
        'siem_storage_write_duration_seconds_count{method="insert"} 10',
        'siem_storage_write_duration_seconds_bucket{method="copy",le="0.5"} 10',
      ].join('\n'),
    );
    const now = histogramTotals(m, 'siem_storage_write_duration_seconds');
    expect(now).toEqual({ sum: 4, count: 20 });
    expect(meanSince(now, null)).toBe(0.2);
    expect(meanSince(now, { sum: 2, count: 10 })).toBe(0.2);
    expect(meanSince(now, { sum: 3.5, count: 15 })).toBe(0.1);
    expect(meanSince({ sum: 0, count: 0 }, null)).toBeNull();
  });
});
