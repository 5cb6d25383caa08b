import { checkAgainst } from '@siem/config';
import { isSiemError } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { assertLibrdkafkaFeatures, librdkafkaInfo } from './features.js';
import type { KafkaOptions } from './options.js';
import { kafkaOptionsSchema } from './options.js';
import { topicDefinitions } from './topics.js';

describe('librdkafka build', () => {
  it('has zstd, SSL and SASL compiled in', () => {
    expect(librdkafkaInfo().features).toEqual(expect.arrayContaining(['zstd', 'ssl', 'sasl']));
    expect(() => assertLibrdkafkaFeatures()).not.toThrow();
  });

  it('fails start-up with the fix when a feature is missing', () => {
    try {
      assertLibrdkafkaFeatures(['zstd', 'no-such-codec']);
      expect.unreachable();
    } catch (err) {
      expect(isSiemError(err, 'SIEM_ERR_NATIVE_FEATURE')).toBe(true);
      expect((err as Error).message).toMatch(/without no-such-codec/);
      expect((err as Error).message).toMatch(/libzstd-dev/);
    }
  });
});

describe('topic definitions', () => {
  it('come from one configuration section, zstd-compressed, with retention and ISR set', () => {
    const options = {} as KafkaOptions;
    expect(checkAgainst(kafkaOptionsSchema, options)).toEqual([]);
    const defs = topicDefinitions(options.topics);
    expect(defs.map((d) => d.name)).toEqual([
      'siem.raw',
      'siem.normalized',
      'siem.dlq',
      'siem.severity.emergency',
      'siem.severity.alert',
      'siem.severity.critical',
      'siem.severity.error',
      'siem.severity.warning',
      'siem.severity.notice',
      'siem.severity.info',
      'siem.severity.debug',
    ]);
    const raw = defs[0]!;
    expect(raw).toMatchObject({ partitions: 12, replicationFactor: 1 });
    expect(raw.config).toMatchObject({
      'compression.type': 'zstd',
      'retention.ms': String(72 * 3_600_000),
      'min.insync.replicas': '1',
    });
    expect(raw.config).not.toHaveProperty('retention.bytes');
    // dead letters are bounded in bytes as well as time
    expect(defs.find((d) => d.name === 'siem.dlq')!.config).toMatchObject({
      'retention.ms': String(336 * 3_600_000),
      'retention.bytes': String(1024 ** 3),
    });
  });
});
