import { ComponentMetrics, Counter, Gauge, Registry } from '@siem/observability';
import { describe, expect, it } from 'vitest';
import { StatsSampler } from './stats.js';

function setup() {
  const registry = new Registry();
  const source = (id: string, type = id) => new ComponentMetrics({ id, kind: 'source', type }, registry);
  const sources = new Map<string, ComponentMetrics>();
  const of = (id: string) => {
    let m = sources.get(id);
    if (m === undefined) {
      m = source(id);
      sources.set(id, m);
    }
    return m;
  };
  // the shape of the old tests: inc({ listener }, n), reset()
  const received = {
    inc: ({ listener }: { listener: string }, n: number) => of(listener).received(n, n * 100),
    reset: () => registry.getSingleMetric('siem_component_received_events_total')!.reset(),
  };
  const discarded = {
    inc: ({ listener, reason }: { listener: string; reason: string }, n: number) =>
      of(listener).discarded(reason, reason === 'rate_limited', n),
  };
  const records = new Counter({
    name: 'siem_pipeline_records_total',
    help: 'h',
    labelNames: ['sink', 'outcome'],
    registers: [registry],
  });
  const fill = new Gauge({
    name: 'siem_buffer_memory_fill_ratio',
    help: 'h',
    labelNames: ['buffer'],
    registers: [registry],
  });
  let now = 1_000_000;
  const sampler = new StatsSampler({ sampleMs: 1000, registry, now: () => now });
  return {
    registry,
    sampler,
    received,
    discarded,
    records,
    fill,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

type Snapshot = {
  adapters: Record<string, Record<string, Record<string, number | null>>>;
  [key: string]: unknown;
  stages: Record<string, unknown> & { sinks?: Record<string, Record<string, Record<string, number | null>>> };
  buffer: Record<string, Record<string, number>>;
  errors: Record<string, Record<string, number | null>>;
  covered_seconds: number;
};

describe('StatsSampler', () => {
  it('turns counters into per-second rates per adapter, per stage and per sink', async () => {
    const s = setup();
    s.received.inc({ listener: 'syslog_udp' }, 500); // before the first sample: not counted as recent
    await s.sampler.sample();
    for (let i = 0; i < 60; i++) {
      s.advance(1000);
      s.received.inc({ listener: 'syslog_udp' }, 100);
      s.received.inc({ listener: 'syslog_tcp' }, 10);
      s.records.inc({ sink: 'kafka', outcome: 'delivered' }, 110);
      if (i % 10 === 0) s.discarded.inc({ listener: 'syslog_udp', reason: 'rate_limited' }, 11);
      await s.sampler.sample();
    }
    s.fill.set({ buffer: 'main' }, 0.25);
    await s.sampler.sample(); // same instant: rates unchanged, gauge read
    const snap = s.sampler.snapshot() as unknown as Snapshot;
    expect(snap.adapters.syslog_udp!.received_events!['1m']).toBeCloseTo(100, 5);
    expect(snap.adapters.syslog_tcp!.received_events!['1m']).toBeCloseTo(10, 5);
    expect(snap.stages.received).toEqual({ '1m': 110, '5m': 110, '15m': 110 });
    // totals: everything counted, the 500 before the first sample included
    const totals = snap.totals as {
      stages: { received: number };
      adapters: Record<string, { received_events: number }>;
    };
    expect(totals.stages.received).toBe(500 + 60 * 110);
    expect(totals.adapters.syslog_udp!.received_events).toBe(500 + 60 * 100);
    expect(totals.adapters.syslog_tcp!.received_events).toBe(60 * 10);
    expect(snap.stages.sinks!.kafka!.delivered!['1m']).toBe(110);
    expect(snap.adapters.syslog_udp!.received_bytes!['1m']).toBeCloseTo(10_000, 5);
    expect(snap.adapters.syslog_udp!.discarded_events!['1m']).toBeCloseTo(66 / 60, 5);
    expect(snap.errors.adapter_discarded!['1m']).toBeCloseTo(66 / 60, 5);
    expect(snap.errors.dropped!['1m']).toBeCloseTo(66 / 60, 5);
    // a rate limit is a policy drop, not a loss
    expect(snap.errors.lost).toBeUndefined();
    expect(snap.errors.ratio!['1m']).toBe(0);
    expect(snap.buffer.main!.memory_fill_ratio).toBe(0.25);
    expect(snap.covered_seconds).toBe(60);
  });

  it('separates the windows and forgets what is older than 15 minutes', async () => {
    const s = setup();
    await s.sampler.sample();
    // 10 minutes at 10/s, then 5 minutes at 100/s, sampled every second
    for (let i = 0; i < 900; i++) {
      s.advance(1000);
      s.received.inc({ listener: 'syslog_udp' }, i < 600 ? 10 : 100);
      await s.sampler.sample();
    }
    let snap = s.sampler.snapshot() as unknown as Snapshot;
    expect(snap.stages.received).toEqual({ '1m': 100, '5m': 100, '15m': 40 });
    // 10 quiet minutes: the last 15 hold the 5 busy ones only
    for (let i = 0; i < 600; i++) {
      s.advance(1000);
      await s.sampler.sample();
    }
    snap = s.sampler.snapshot() as unknown as Snapshot;
    expect(snap.stages.received).toEqual({ '1m': 0, '5m': 0, '15m': 33.333 });
  });

  it('counts a reset counter from zero instead of going negative, and a late series from zero', async () => {
    const s = setup();
    s.received.inc({ listener: 'syslog_udp' }, 1000);
    await s.sampler.sample();
    s.advance(10_000);
    s.received.reset();
    s.received.inc({ listener: 'syslog_udp' }, 50);
    s.records.inc({ sink: 'db', outcome: 'delivered' }, 20); // appears after sampling began
    await s.sampler.sample();
    const snap = s.sampler.snapshot() as unknown as Snapshot;
    expect(snap.stages.received).toMatchObject({ '1m': 5 });
    expect(snap.stages.sinks!.db!.delivered!['1m']).toBe(2);
  });

  it('answers before it has two samples, with nulls', async () => {
    const s = setup();
    s.received.inc({ listener: 'syslog_udp' }, 1);
    await s.sampler.sample();
    const snap = s.sampler.snapshot() as unknown as Snapshot;
    expect(snap.stages.received).toEqual({ '1m': null, '5m': null, '15m': null });
  });

  it('counts every source alike and only failures in errors.ratio, per component and reason', async () => {
    const s = setup();
    const syslog = new ComponentMetrics({ id: 'fw_tcp', kind: 'source', type: 'syslog_tcp' }, s.registry);
    const windows = new ComponentMetrics(
      { id: 'windows_events', kind: 'source', type: 'windows_events' },
      s.registry,
    );
    const cloud = new ComponentMetrics({ id: 'cloud_http', kind: 'source', type: 'cloud_http' }, s.registry);
    const buffer = new ComponentMetrics({ id: 'main', kind: 'buffer', type: 'memory_disk' }, s.registry);
    const kafka = new ComponentMetrics({ id: 'kafka', kind: 'sink', type: 'kafka' }, s.registry);
    const normalizer = new ComponentMetrics(
      { id: 'normalizer', kind: 'sink', type: 'normalizer' },
      s.registry,
    );
    const storage = new ComponentMetrics({ id: 'storage', kind: 'sink', type: 'timescaledb' }, s.registry);
    await s.sampler.sample();
    for (let i = 0; i < 10; i++) {
      s.advance(1000);
      syslog.received(30, 3000);
      windows.received(20, 4000);
      cloud.received(50, 5000);
      buffer.received(100, 12_000);
      kafka.sent(98);
      normalizer.sent(97);
      storage.sent(97);
      cloud.discarded('busy', true, 10); // the sender is told to resend: a policy, not a loss
      syslog.discarded('buffer_closed', false, 1);
      normalizer.discarded('normalize_failed', false, 1);
      kafka.error('timed_out', 'sending', 2);
      storage.error('not_connected', 'sending');
      windows.error('not_json', 'processing');
      await s.sampler.sample();
    }
    const snap = s.sampler.snapshot() as unknown as Snapshot;
    const r = (v: unknown) => (v as Record<string, number>)['1m'];
    expect(r(snap.stages.received)).toBe(100);
    expect(r(snap.adapters.cloud_http!.received_events)).toBe(50);
    expect(r(snap.adapters.windows_events!.received_events)).toBe(20);
    expect(r(snap.adapters.fw_tcp!.received_events)).toBe(30);
    expect(r(snap.adapters.fw_tcp!.received_bytes)).toBe(3000);
    expect(r(snap.adapters.windows_events!.errors)).toBe(1);
    expect(snap.adapters.main).toBeUndefined(); // the buffer is no adapter
    expect(r(snap.stages.buffered)).toBe(100);
    expect(r(snap.stages.kafka_delivered)).toBe(98);
    expect(r(snap.stages.normalized)).toBe(97);
    expect(r(snap.stages.stored)).toBe(97);
    expect(r(snap.errors.dropped)).toBe(10);
    expect(r(snap.errors.lost)).toBe(2);
    const errors = snap.errors as unknown as Record<
      string,
      Record<string, Record<string, Record<string, number>>>
    >;
    expect(errors.dropped_by!.cloud_http!.busy!['1m']).toBe(10);
    expect(errors.lost_by!.fw_tcp!.buffer_closed!['1m']).toBe(1);
    expect(errors.lost_by!.normalizer!.normalize_failed!['1m']).toBe(1);
    expect(errors.errors_by!.kafka!.timed_out!['1m']).toBe(2);
    expect(r(snap.errors.errors)).toBe(4);
    expect(r(snap.errors.adapter_discarded)).toBe(11);
    expect(r(snap.errors.adapter_errors)).toBe(1);
    expect(r(snap.errors.kafka_delivery_errors)).toBe(2);
    expect(r(snap.errors.storage_write_errors)).toBe(1);
    expect(r(snap.errors.dead_letters)).toBe(1);
    expect(
      r((snap.errors.dead_letters_by_reason as unknown as Record<string, unknown>).normalize_failed),
    ).toBe(1);
    expect(r(snap.errors.ratio)).toBe(0.02); // 2 lost of 100 received; the 10 dropped on purpose are not
  });
});
