import type { NormalizedEvent, RawEvent } from '@siem/core';
import { isSiemError, SiemError } from '@siem/core';
import { normalizeAzureRecord } from './cloud/azure-activity.js';
import { normalizeCloudTrailRecord } from './cloud/cloudtrail.js';
import { normalizeGcpEntry } from './cloud/gcp-logging.js';
import { recordEventId } from './event-id.js';
import { emptyEvent, fail, isObject, type JsonObject, parseJson } from './fields.js';
import { normalizeSyslog } from './syslog/normalize-syslog.js';
import { clampTimes, DEFAULT_TIME_BOUNDS, type TimeBoundsOptions } from './time-bounds.js';
import { stampTlsClient } from './tls-client.js';
import { normalizeWindowsRecord } from './windows/normalize-windows.js';

/**
 * The dispatcher: `RawEvent.sourceType` picks the normalizer. A raw event may carry several records
 * (a CloudTrail `Records` file, an Azure `records` batch, a JSON array of Windows events or
 * LogEntries); `normalizeAll` returns one row per record, `normalize` is the single-record case.
 *
 * Errors: a payload that cannot be normalized throws SiemError('SIEM_ERR_NORMALIZE', reason) — the
 * caller sends the raw record to the DLQ. Nothing else is ever thrown: an unexpected failure inside a
 * normalizer is wrapped into the same code with the cause kept.
 */

type RecordNormalizer = (raw: RawEvent, rec: JsonObject, eventId: string, rawText: string) => NormalizedEvent;

/** A payload's records: the single object (rawText = the payload) or each element of its batch array. */
function records(
  payloadText: string,
  parsed: unknown,
  batchKey: string | null,
  what: string,
): [JsonObject, string][] {
  let list: unknown[] | null = null;
  if (Array.isArray(parsed)) list = parsed;
  else if (isObject(parsed) && batchKey !== null && Array.isArray(parsed[batchKey]))
    list = parsed[batchKey] as unknown[];
  if (list === null) {
    if (!isObject(parsed)) fail(`${what} payload is not a JSON object`);
    return [[parsed, payloadText]];
  }
  if (list.length === 0) fail(`${what} payload holds an empty batch`);
  if (list.length === 1 && isObject(list[0]) && !Array.isArray(parsed)) {
    // A one-record batch: the stored raw is still the record alone, like every batch row.
    return [[list[0], JSON.stringify(list[0])]];
  }
  return list.map((r, i) => {
    if (!isObject(r)) fail(`${what} batch element ${i} is not a JSON object`);
    return [r, JSON.stringify(r)];
  });
}

/** GCP delivery envelopes: a Pub/Sub push (`{message: {data: base64}}`) or an entries.list answer. */
function gcpPayload(text: string): { parsed: unknown; text: string } {
  const parsed = parseJson(text, 'gcp_logging');
  const message = isObject(parsed) ? parsed.message : undefined;
  if (isObject(message) && typeof message.data === 'string' && !('logName' in (parsed as JsonObject))) {
    const inner = Buffer.from(message.data, 'base64').toString('utf8');
    return { parsed: parseJson(inner, 'gcp_logging (Pub/Sub data)'), text: inner };
  }
  return { parsed, text };
}

function batch(
  raw: RawEvent,
  batchKey: string | null,
  what: string,
  fn: RecordNormalizer,
): NormalizedEvent[] {
  const text = raw.payload.toString('utf8');
  const { parsed, text: payloadText } =
    raw.sourceType === 'gcp_logging' ? gcpPayload(text) : { parsed: parseJson(text, what), text };
  const receivedAtMs = Date.parse(raw.receivedAt);
  if (raw.parseError === TOO_MANY_RECORDS && Array.isArray(parsed)) {
    return [oversizedArray(raw, parsed, recordEventId(raw.id, receivedAtMs, 0), payloadText)];
  }
  const recs = records(payloadText, parsed, batchKey, what);
  const out: NormalizedEvent[] = new Array(recs.length);
  for (let i = 0; i < recs.length; i++) {
    const [rec, recText] = recs[i]!;
    out[i] = fn(raw, rec, recordEventId(raw.id, receivedAtMs, i), recText);
  }
  return out;
}

/** The intake's mark for a JSON array longer than its configured maximum (see @siem/windows). */
const TOO_MANY_RECORDS = 'too_many_records';

/**
 * A JSON array the intake refused to split (more elements than its maximum): ONE row, the array kept
 * in `attrs.records` and its length in `attrs.record_count`, so one input line can never become an
 * unbounded number of rows. The intake counted it when it marked the raw event.
 */
function oversizedArray(raw: RawEvent, list: unknown[], eventId: string, text: string): NormalizedEvent {
  const ev = emptyEvent(raw, raw.sourceType, eventId, text);
  ev.message = `${list.length} records in one input, over the intake's limit: kept as one event`;
  ev.attrs.parse_error = TOO_MANY_RECORDS;
  ev.attrs.record_count = list.length;
  ev.attrs.records = list;
  return ev;
}

function dispatch(raw: RawEvent): NormalizedEvent[] {
  switch (raw.sourceType) {
    case 'syslog':
      return [normalizeSyslog(raw, recordEventId(raw.id, Date.parse(raw.receivedAt), 0))];
    case 'windows':
      return batch(raw, null, 'windows', normalizeWindowsRecord);
    case 'cloudtrail':
      return batch(raw, 'Records', 'cloudtrail', normalizeCloudTrailRecord);
    case 'azure_activity':
      return batch(raw, 'records', 'azure_activity', normalizeAzureRecord);
    case 'gcp_logging':
      return batch(raw, 'entries', 'gcp_logging', normalizeGcpEntry);
    default:
      return fail(`unknown source type ${String((raw as { sourceType: unknown }).sourceType)}`);
  }
}

function guarded<T>(raw: RawEvent, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isSiemError(err, 'SIEM_ERR_NORMALIZE')) throw err;
    throw new SiemError(
      'SIEM_ERR_NORMALIZE',
      `${raw.sourceType} normalizer failed: ${(err as Error)?.message ?? String(err)}`,
      {
        cause: err,
        details: { reason: 'internal', sourceType: raw.sourceType },
      },
    );
  }
}

/** The normalizer's options (the `normalizer` section of the configuration carries them). */
export interface NormalizeOptions {
  /** Bounds on the event time relative to the receive time (default: 2 days into the future, no past bound). */
  time?: TimeBoundsOptions;
}

/**
 * Every record of the raw event as a normalized row, in payload order, with deterministic ids, event
 * times bounded by `options.time` (see time-bounds.ts), and the verified TLS client certificate of its
 * connection in `attrs.tls.client` (see tls-client.ts).
 */
export function normalizeAll(raw: RawEvent, options: NormalizeOptions = {}): NormalizedEvent[] {
  const rows = guarded(raw, () => dispatch(raw));
  clampTimes(rows, raw.receivedAt, options.time ?? DEFAULT_TIME_BOUNDS);
  stampTlsClient(rows, raw.source.tls);
  return rows;
}

/** The single-record case; a raw event carrying several records is refused (use normalizeAll). */
export function normalize(raw: RawEvent, options: NormalizeOptions = {}): NormalizedEvent {
  const rows = normalizeAll(raw, options);
  if (rows.length !== 1) {
    throw new SiemError('SIEM_ERR_NORMALIZE', `payload holds ${rows.length} records; use normalizeAll`, {
      details: { reason: 'multiple_records', count: rows.length },
    });
  }
  return rows[0]!;
}
