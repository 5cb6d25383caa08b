import type { ReadRecord } from '@siem/kafka';
import { describe, expect, it } from 'vitest';
import { sampleRawEvent } from '../test-support.js';
import { decodeRecord, topicName } from './consume-decode.js';

const line = '<38>1 2026-01-01T10:00:00Z web01 sshd 42 - - Failed password for root';
const raw = sampleRawEvent(line);

function record(value: Buffer | null, headers: Record<string, string> = {}): ReadRecord {
  return { topic: 't', partition: 1, offset: 7, timestamp: 0, key: Buffer.from('web01'), value, headers };
}

describe('siem consume decoding', () => {
  it('shows a raw event as its envelope with the payload beside it', () => {
    const d = decodeRecord(record(raw));
    expect(d).toMatchObject({
      topic: 't',
      partition: 1,
      offset: 7,
      key: 'web01',
      kind: 'raw',
      event: {
        sourceType: 'syslog',
        tenant: 'default',
        source: { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '192.0.2.5' },
        payload: line,
      },
    });
    expect(JSON.parse(JSON.stringify(d))).toEqual(d); // one JSON line, nothing lost to serialisation
  });

  it('shows a dead letter with its reason from the headers, and its raw event decoded', () => {
    const d = decodeRecord(
      record(raw, {
        'siem-dlq-reason': 'normalize_failed',
        'siem-dlq-error': 'not a Windows event',
        'siem-dlq-source-topic': 'siem.raw',
        'siem-dlq-original-size': String(raw.length),
        'siem-dlq-truncated': 'false',
      }),
    );
    expect(d).toMatchObject({
      kind: 'dlq',
      reason: 'normalize_failed',
      error: 'not a Windows event',
      source_topic: 'siem.raw',
      original_size: raw.length,
      truncated: false,
      event: { payload: line },
    });
  });

  it('keeps JSON as JSON and anything else byte for byte in base64', () => {
    expect(decodeRecord(record(Buffer.from('{"hostName":"a"}')))).toMatchObject({
      kind: 'json',
      event: { hostName: 'a' },
    });
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    expect(decodeRecord(record(bytes))).toMatchObject({
      kind: 'bytes',
      payload_base64: bytes.toString('base64'),
    });
    expect(decodeRecord(record(Buffer.from('plain text')))).toMatchObject({
      kind: 'bytes',
      payload: 'plain text',
    });
  });

  it('maps topic selectors to the configured names', () => {
    const topics = {
      raw: { name: 'siem.raw' },
      normalized: { name: 'siem.normalized' },
      dlq: { name: 'siem.dlq' },
      severity_prefix: 'siem.severity.',
    };
    const levels = ['critical', 'error'];
    expect(topicName('raw', topics, levels)).toBe('siem.raw');
    expect(topicName('dlq', topics, levels)).toBe('siem.dlq');
    expect(topicName('severity.critical', topics, levels)).toBe('siem.severity.critical');
    expect(topicName('severity.loud', topics, levels)).toBeNull();
    expect(topicName('my.topic-1', topics, levels)).toBe('my.topic-1');
    expect(topicName('bad topic', topics, levels)).toBeNull();
  });
});
