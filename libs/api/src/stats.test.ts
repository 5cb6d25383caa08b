import { Counter, Gauge, Registry } from '@siem/observability';
import { describe, expect, it } from 'vitest';
import { StatsSampler } from './stats.js';

function setup() {
  const registry = new Registry();
  const received = new Counter({
    name: 'siem_syslog_received_events_total',
    help: 'h',
    labelNames: ['listener'],
    registers: [registry],
  });
  const discarded = new Counter({
    name: 'siem_syslog_discarded_events_total',
    help: 'h',
    labelNames: ['listener', 'reason'],
    registers: [registry],
  });
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
    expect(snap.stages.sinks!.kafka!.delivered!['1m']).toBe(110);
    expect(snap.errors.adapter_discarded!['1m']).toBeCloseTo(66 / 60, 5);
    expect(snap.errors.ratio!['1m']).toBeCloseTo(66 / 60 / 110, 5);
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
});
