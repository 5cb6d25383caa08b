import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMeasured } from './sizing.js';
import { type Measured, parseRetention, size } from './sizing-model.js';

const results = resolve(import.meta.dirname, '../../../../bench/results');
const fig = (value: number) => ({ value, unit: '', from: `test ${value}` });

// round numbers, so every line can be checked by hand
const measured: Measured = {
  gatewayRate: fig(100_000),
  gatewayCpuPerMillion: fig(7),
  brokerCpuPerMillion: fig(1),
  recordBytes: fig(700),
  messageBytes: fig(200),
  zstdRatio: fig(10),
  consumeRate: fig(200_000),
  normalizeRate: fig(200_000),
  shardWriteRate: fig(35_000),
  hotBytes: fig(1000),
  warmBytes: fig(100),
  coldBytes: fig(80),
  archiveBytes: fig(50),
};
const input = {
  eps: 700_000,
  eventBytes: 500,
  retention: { hot: 7, warm: 30, cold: 90 },
  replication: 3,
  kafkaRetentionHours: 72,
};

describe('size', () => {
  it('derives every line from the measured figures and the stated assumptions', () => {
    const rows = Object.fromEntries(size(input, measured).map((r) => [r.what, r]));
    const v = (what: string) => rows[what]?.value;
    expect(v('gateway cores')).toBe(7); // 700k × 7 µs / 0.7
    expect(v('gateway pods (1 process, 1 core)')).toBe(10); // 700k / (100k × 0.7)
    expect(v('raw-event record')).toBe(1000); // 500 + (700 − 200)
    expect(v('Kafka ingress (compressed)')).toBe(70); // 700k × 100 B
    expect(v('Kafka network, all brokers')).toBe(3.4); // 70 MB/s × (1 + 4 + 1) × 8 = 3.36
    expect(v('Kafka broker cores')).toBe(3); // 700k × 1 µs × 3 / 0.7
    expect(v('Kafka disk, all brokers')).toBe(54.43); // 70 MB/s × 3 × 72 h
    expect(v('Kafka brokers')).toBe(4); // disk: 54.43 / (24 × 0.7)
    expect(v('normalizer events/s per core')).toBe(100_000);
    expect(v('normalizer pods (1 process, 1 core)')).toBe(10);
    expect(v('siem.raw partitions')).toBe(12); // 10 rounded up to a multiple of 4 brokers
    expect(v('database shards')).toBe(29); // 700k / 24.5k
    expect(v('disk hot (7 d)')).toBe(423.4); // 700k × 86400 × 7 × 1000 B
    expect(v('disk cold (60 d)')).toBe(290.3); // 700k × 86400 × 60 × 80 B
    expect(v('frozen archive per day')).toBe(3.02);
    expect(rows['gateway cores']?.from).toContain('test 7');
    expect(rows['gateway cores']?.from).toContain('assumption');
  });

  it('reads its inputs from the committed benchmark results, each naming its row and commit', () => {
    const m = loadMeasured(results);
    for (const f of Object.values(m)) {
      expect(f.value).toBeGreaterThan(0);
      expect(f.from).toMatch(/^bench\/results\/[a-z0-9-]+\.json /);
    }
    expect(m.gatewayRate.from).toMatch(/commit [0-9a-f]{7}/);
    expect(() => loadMeasured(join(results, 'nowhere'))).toThrow(/is missing: run its benchmark/);
  });
});

describe('parseRetention', () => {
  it('takes tier ages in days and refuses what does not grow', () => {
    expect(parseRetention('hot=3d,cold=60d')).toEqual({ hot: 3, warm: 30, cold: 60 });
    expect(parseRetention('hot=7d,warm=5d')).toMatch(/ages must grow/);
    expect(parseRetention('hot=7')).toMatch(/not like hot=7d/);
  });
});
