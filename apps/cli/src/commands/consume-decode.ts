import { decodeRawEvent, type RawEvent } from '@siem/core';
import type { ReadRecord } from '@siem/kafka';

/** What a record was read as. */
export type RecordKind = 'raw' | 'dlq' | 'json' | 'bytes';

/** The payload as text when it is valid UTF-8, else base64 (byte for byte either way). */
function payloadFields(payload: Buffer): Record<string, string> {
  const text = payload.toString('utf8');
  return Buffer.from(text, 'utf8').equals(payload)
    ? { payload: text }
    : { payload_base64: payload.toString('base64') };
}

/** A raw event as one JSON object: its envelope with the payload beside it. */
export function rawEventJson(e: RawEvent): Record<string, unknown> {
  const { payload, ...envelope } = e;
  return { ...envelope, ...payloadFields(payload) };
}

function tryRaw(value: Buffer): RawEvent | null {
  try {
    return decodeRawEvent(value);
  } catch {
    return null;
  }
}

/**
 * One record as one JSON line: where it was read, then what it holds. Dead letters (the
 * `siem-dlq-reason` header) carry their reason, error and source topic, and their value decoded when
 * it is a raw event; raw events show their envelope and payload; normalized rows and other JSON as
 * they are; anything else as base64.
 */
export function decodeRecord(r: ReadRecord): Record<string, unknown> {
  const at = {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    ...(r.timestamp !== null ? { timestamp: new Date(r.timestamp).toISOString() } : {}),
    key: r.key === null ? null : r.key.toString('utf8'),
  };
  const value = r.value ?? Buffer.alloc(0);
  const reason = r.headers['siem-dlq-reason'];
  if (reason !== undefined) {
    const raw = tryRaw(value);
    return {
      ...at,
      kind: 'dlq' satisfies RecordKind,
      reason,
      error: r.headers['siem-dlq-error'] ?? null,
      source_topic: r.headers['siem-dlq-source-topic'] ?? null,
      original_size: Number(r.headers['siem-dlq-original-size'] ?? value.length),
      truncated: r.headers['siem-dlq-truncated'] === 'true',
      ...(raw !== null ? { event: rawEventJson(raw) } : payloadFields(value)),
    };
  }
  const raw = tryRaw(value);
  if (raw !== null) return { ...at, kind: 'raw' satisfies RecordKind, event: rawEventJson(raw) };
  try {
    return { ...at, kind: 'json' satisfies RecordKind, event: JSON.parse(value.toString('utf8')) as unknown };
  } catch {
    return { ...at, kind: 'bytes' satisfies RecordKind, ...payloadFields(value) };
  }
}

/** `raw`, `normalized`, `dlq`, `severity.<level>` → the configured topic name; any other name as is. */
export function topicName(
  selector: string,
  topics: {
    raw: { name: string };
    normalized: { name: string };
    dlq: { name: string };
    severity_prefix: string;
  },
  severities: readonly string[],
): string | null {
  if (selector === 'raw' || selector === 'normalized' || selector === 'dlq') return topics[selector].name;
  if (selector.startsWith('severity.')) {
    const level = selector.slice('severity.'.length);
    return severities.includes(level) ? `${topics.severity_prefix}${level}` : null;
  }
  return /^[A-Za-z0-9._-]{1,249}$/.test(selector) ? selector : null;
}
