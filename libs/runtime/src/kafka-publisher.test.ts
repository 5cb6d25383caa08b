import {
  type BufferRecord,
  decodeRawEvent,
  type NormalizedEvent,
  NotConnectedError,
  RawEventEncoder,
} from '@siem/core';
import type { KafkaProducerPool } from '@siem/kafka';
import { normalizeAll } from '@siem/normalize';
import { encodeSyslogMessage } from '@siem/syslog';
import { describe, expect, it } from 'vitest';
import { KafkaRowPublisher } from './kafka-publisher.js';

// The producer is a double of the one method of our own KafkaProducerPool the publisher uses
// (`sendTo`), not of Kafka: what is under test is which rows go to which topic, keyed how.

const encoder = new RawEventEncoder(
  { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '10.0.0.7', peerPort: 40000, tls: null },
  't1',
);

/** One stored row per PRI: facility 4, so the severity is `pri - 32`. */
function rows(...pris: number[]): NormalizedEvent[] {
  return pris.flatMap((pri, i) => {
    const payload = Buffer.from(`<${pri}>1 2026-12-03T10:00:00.000Z host-${i} app - - - event ${i}`);
    return normalizeAll(decodeRawEvent(encodeSyslogMessage(encoder, payload, Date.now()).value));
  });
}

function producer(fail?: unknown) {
  const sent: { topic: string; records: readonly BufferRecord[] }[] = [];
  const pool = {
    sendTo: async (topic: string, records: readonly BufferRecord[]) => {
      if (fail !== undefined) throw fail;
      sent.push({ topic, records });
    },
  } as unknown as KafkaProducerPool;
  return { pool, sent };
}

const summary = (sent: { topic: string; records: readonly BufferRecord[] }[]) =>
  sent.map(({ topic, records }) => ({ topic, keys: records.map((r) => r.key) }));

describe('KafkaRowPublisher', () => {
  it('publishes every row to the normalized topic and the chosen severities to their own, keyed by tenant/host', async () => {
    const { pool, sent } = producer();
    const publisher = new KafkaRowPublisher({
      producer: pool,
      normalizedTopic: 'siem.normalized',
      severityPrefix: 'siem.severity.',
      routeSeverities: ['critical', 'error', 'no_such_severity'],
    });
    const stored = rows(34, 38, 35, 34);
    expect(stored.map((r) => r.severity)).toEqual([2, 6, 3, 2]);
    await publisher.publish(stored);
    expect(summary(sent)).toEqual([
      { topic: 'siem.normalized', keys: ['t1/host-0', 't1/host-1', 't1/host-2', 't1/host-3'] },
      { topic: 'siem.severity.critical', keys: ['t1/host-0', 't1/host-3'] },
      { topic: 'siem.severity.error', keys: ['t1/host-2'] },
    ]);
    expect(JSON.parse(sent[0]!.records[1]!.value.toString())).toMatchObject({
      tenantId: 't1',
      hostName: 'host-1',
      message: 'event 1',
    });
  });

  it('sends nothing without a normalized topic or routed severities', async () => {
    const { pool, sent } = producer();
    const publisher = new KafkaRowPublisher({
      producer: pool,
      normalizedTopic: null,
      severityPrefix: 'siem.severity.',
      routeSeverities: [],
    });
    await publisher.publish(rows(34, 38));
    expect(sent).toEqual([]);
  });

  it('rejects when a send fails, so the batch is retried', async () => {
    const { pool } = producer(new NotConnectedError('fake Kafka'));
    const publisher = new KafkaRowPublisher({
      producer: pool,
      normalizedTopic: 'siem.normalized',
      severityPrefix: 'siem.severity.',
      routeSeverities: [],
    });
    await expect(publisher.publish(rows(38))).rejects.toMatchObject({ code: 'SIEM_ERR_NOT_CONNECTED' });
  });
});
