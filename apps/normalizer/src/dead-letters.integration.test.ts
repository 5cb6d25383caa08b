/**
 * Records that are not raw events (garbage bytes, an empty record, a newer schema version, JSON of
 * another shape) and raw events no normalizer can read go to the dead-letter topic, each with its
 * reason in the headers and its original bytes and key; the partition keeps moving: the valid records
 * around and after them are stored and the group's offsets reach the end of the partition.
 */
import { randomBytes } from 'node:crypto';
import { decodeRawEvent, RawEventEncoder } from '@siem/core';
import {
  createScratchDatabase,
  endOffsets,
  logSummary,
  metricSum,
  type OutRecord,
  produceRecords,
  type RoleProcess,
  readTopic,
  recordHeader,
  scrapeMetrics,
  stackUrls,
  startRoleProcess,
  waitForCommitted,
  waitForEvents,
  waitUntil,
} from '@siem/local-stack';
import { afterAll, describe, expect, it } from 'vitest';
import { syslogRecords } from './testing/load.js';
import { normalizerEnv } from './testing/normalizer-env.js';
import { normalizerScenario } from './testing/scenario.js';

const brokers = stackUrls.kafkaBrokers;
const API_PORT = 28301;

interface Bad extends OutRecord {
  what: string;
  reason: 'invalid_raw_event' | 'normalize_failed';
  /** a part of the error text the dead letter must carry */
  error: RegExp;
}

function badRecords(): Bad[] {
  const cloud = new RawEventEncoder(
    { adapter: 'cloud_http', transport: 'https', peerAddress: '192.0.2.30', peerPort: 443, tls: null },
    'acme',
  );
  const raw = (sourceType: 'windows' | 'cloudtrail' | 'gcp_logging', payload: string) =>
    cloud.encode({
      receivedAtMs: Date.now(),
      sourceType,
      syslog: null,
      marks: null,
      parseError: null,
      originalSize: Buffer.byteLength(payload),
      payload: Buffer.from(payload),
    });
  // A good record with one envelope field changed: the envelope is its first line, the payload follows.
  const changed = (field: string, value: unknown) => {
    const record = syslogRecords(0, 1)[0]!.value;
    const lf = record.indexOf(0x0a);
    const envelope = JSON.parse(record.toString('utf8', 0, lf)) as Record<string, unknown>;
    envelope[field] = value;
    return Buffer.concat([Buffer.from(JSON.stringify(envelope)), record.subarray(lf)]);
  };
  return [
    {
      what: 'garbage bytes',
      key: 'garbage',
      value: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x01]), randomBytes(200)]),
      reason: 'invalid_raw_event',
      error: /not JSON/,
    },
    {
      what: 'an empty record',
      key: 'empty',
      value: Buffer.alloc(0),
      reason: 'invalid_raw_event',
      error: /not JSON/,
    },
    {
      what: 'a newer schema version',
      key: 'v3',
      value: changed('v', 3),
      reason: 'invalid_raw_event',
      error: /unsupported version 3/,
    },
    {
      what: 'JSON that is not a raw event',
      key: 'json',
      value: Buffer.from('{"message":"hello","host":"web01"}'),
      reason: 'invalid_raw_event',
      error: /v must be a number/,
    },
    {
      what: 'an unknown source type',
      key: 'mainframe',
      value: changed('source_type', 'mainframe'),
      reason: 'invalid_raw_event',
      error: /unknown source_type mainframe/,
    },
    {
      what: 'a Windows record without an event id',
      key: 'win',
      value: raw('windows', '{"Hostname":"WIN01","Message":"no EventID here"}'),
      reason: 'normalize_failed',
      error: /not a Windows event/,
    },
    {
      what: 'an empty CloudTrail Records file',
      key: 'aws',
      value: raw('cloudtrail', '{"Records": []}'),
      reason: 'normalize_failed',
      error: /empty batch/,
    },
    {
      what: 'a CloudTrail payload that is not JSON',
      key: 'aws',
      value: raw('cloudtrail', 'Records: none'),
      reason: 'normalize_failed',
      error: /not valid JSON/,
    },
    {
      what: 'a GCP entry of no known shape',
      key: 'gcp',
      value: raw('gcp_logging', '{"insertId":"x1"}'),
      reason: 'normalize_failed',
      error: /not a Cloud Logging LogEntry/,
    },
  ];
}

describe('normalizer role: records that cannot become rows', () => {
  const { topics, group, dataDir, release } = normalizerScenario('norm-dlq');
  let db: { url: string; drop(): Promise<void> } | null = null;
  let proc: RoleProcess | null = null;

  afterAll(async () => {
    await release(proc);
    await db?.drop();
  });

  it('go to the DLQ with the reason and the original record; the partition keeps moving', async () => {
    db = await createScratchDatabase(stackUrls.postgres, 'siem_norm_dlq');
    proc = await startRoleProcess('normalizer', {
      ...normalizerEnv({
        dataDir,
        brokers,
        topics,
        rawPartitions: 1,
        group,
        databaseUrl: db.url,
        apiPort: API_PORT,
      }),
      // small batches: the refused records fall into several batches, with valid ones around them
      SIEM_NORMALIZER__BATCH_MAX_RECORDS: '50',
    });

    // one partition: bad records interleaved with valid ones, then valid ones after the last bad one
    const bad = badRecords();
    const valid = syslogRecords(0, 300);
    const sequence: Array<OutRecord & { bad?: Bad }> = [];
    let v = 0;
    for (const b of bad) {
      for (let k = 0; k < 13; k++) sequence.push(valid[v++]!);
      sequence.push({ ...b, bad: b });
    }
    while (v < valid.length) sequence.push(valid[v++]!);
    await produceRecords(
      brokers,
      topics.raw,
      sequence.map((r) => ({ key: r.key, value: r.value, partition: 0 })),
    );

    // every valid record stored, once
    const stored = await waitForEvents(db!.url, 'siem', valid.length);
    expect(stored).toEqual({ rows: valid.length, ids: valid.length });

    // the DLQ holds exactly the refused records, byte for byte, each with its own reason and error
    const letters = await waitUntil('the dead letters', async () => {
      const m = await readTopic(brokers, topics.dlq);
      return m.length >= bad.length ? m : undefined;
    });
    expect(letters).toHaveLength(bad.length);
    for (const b of bad) {
      const found = letters.filter((m) => (m.value ?? Buffer.alloc(0)).equals(b.value));
      expect(found, b.what).toHaveLength(1);
      const m = found[0]!;
      expect(String(m.key), b.what).toBe(b.key);
      expect(recordHeader(m, 'siem-dlq-reason'), b.what).toBe(b.reason);
      expect(recordHeader(m, 'siem-dlq-error'), b.what).toMatch(b.error);
      expect(recordHeader(m, 'siem-dlq-source-topic'), b.what).toBe(topics.raw);
      expect(recordHeader(m, 'siem-dlq-original-size'), b.what).toBe(String(b.value.length));
      expect(recordHeader(m, 'siem-dlq-truncated'), b.what).toBe('false');
    }
    // a dead-lettered record that was a raw event still decodes as the same event
    const win = letters.find((m) => recordHeader(m, 'siem-dlq-error')?.includes('Windows'));
    expect(decodeRawEvent(win!.value!).sourceType).toBe('windows');

    // the group's offset reaches the end of the partition: nothing is left behind the refused records
    const [end] = await endOffsets(brokers, topics.raw);
    expect(end).toBe(sequence.length);
    await waitForCommitted(brokers, group, topics.raw, [end]);

    // counted by reason
    const metrics = await scrapeMetrics(API_PORT);
    for (const reason of ['invalid_raw_event', 'normalize_failed']) {
      expect(
        metricSum(metrics, 'siem_component_discarded_events_total', { component_type: 'normalizer', reason }),
        reason,
      ).toBe(bad.filter((b) => b.reason === reason).length);
      expect(metricSum(metrics, 'siem_kafka_dead_letter_records_total', { reason }), reason).toBe(
        bad.filter((b) => b.reason === reason).length,
      );
    }
    expect(metricSum(metrics, 'siem_normalizer_events_total', { source_type: 'syslog' })).toBe(valid.length);
    expect(proc.logs('records dead-lettered').length).toBeGreaterThan(0);

    const exit = await proc.stop('SIGTERM');
    expect(exit, logSummary(proc.lines)).toEqual({ code: 0, signal: null });
  });
});
