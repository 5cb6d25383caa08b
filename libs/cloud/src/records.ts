import { arrayElements, memberValue, skipValue, skipWhitespace } from './json-split.js';
import type { CloudSourceType } from './options.js';

/** Why a body is refused (bounded: a metric label). */
export type CloudRefusal =
  | 'unknown_source_type'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'empty_body'
  | 'body_too_large'
  | 'decoded_too_large'
  | 'bad_gzip'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_a_batch'
  | 'record_not_object'
  | 'record_too_large'
  | 'too_many_records'
  | 'stopped'
  | 'paused'
  | 'buffer_full'
  | 'buffer_closed'
  | 'buffer_rejected';

/** A request problem with its HTTP status and the reason it is counted under. */
export class CloudRequestError extends Error {
  readonly statusCode: 400 | 413 | 415;
  readonly reason: CloudRefusal;

  constructor(statusCode: 400 | 413 | 415, reason: CloudRefusal, message: string) {
    super(message);
    this.name = 'CloudRequestError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

/** One record of a batch: its bytes in the body, and its parsed form (for the key). */
export interface CloudRecord {
  start: number;
  end: number;
  doc: Record<string, unknown>;
}

/** The member of a source type's batch object that holds the records. */
export const batchKeys: Record<CloudSourceType, string> = {
  cloudtrail: 'Records',
  azure_activity: 'records',
  gcp_logging: 'entries',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The records of a body that JSON.parse accepted as `doc`:
 * - a batch object (`{"Records": [...]}` CloudTrail log file, `{"records": [...]}` Azure diagnostic
 *   settings / Event Hub, `{"entries": [...]}` GCP entries.list or entries.write): each element;
 * - a JSON array (a GCP sink's export, several records): each element;
 * - any other object (one CloudTrail record, an Azure REST record, a GCP LogEntry, a Pub/Sub push
 *   envelope): itself, whole.
 * Each record must be a JSON object and at most `maxRecordBytes` long; at most `maxRecords` records.
 * Members of a batch object other than its batch array (GCP entries.write defaults such as logName,
 * resource, labels) are not carried over: the normalizers read each record on its own.
 */
export function splitRecords(
  sourceType: CloudSourceType,
  body: Buffer,
  doc: unknown,
  limits: { maxRecordBytes: number; maxRecords: number },
): CloudRecord[] {
  const open = skipWhitespace(body, 0);
  let ranges: Array<[number, number]>;
  let list: unknown[];
  const key = batchKeys[sourceType];
  if (Array.isArray(doc)) {
    list = doc;
    ranges = list.length > limits.maxRecords ? [] : arrayElements(body, open);
  } else if (isObject(doc)) {
    const inner = doc[key];
    if (Array.isArray(inner)) {
      list = inner;
      ranges = list.length > limits.maxRecords ? [] : arrayElements(body, memberValue(body, open, key));
    } else {
      list = [doc];
      ranges = [[open, skipValue(body, open)]];
    }
  } else {
    throw new CloudRequestError(
      400,
      'not_a_batch',
      `the body must be a JSON object (a ${sourceType} record or a {"${key}": [...]} batch) or an array of records`,
    );
  }
  if (list.length > limits.maxRecords) {
    throw new CloudRequestError(
      413,
      'too_many_records',
      `the batch holds ${list.length} records; at most ${limits.maxRecords} per request (split it)`,
    );
  }
  if (ranges.length !== list.length) throw new Error('record scan disagrees with JSON.parse'); // a bug
  const out: CloudRecord[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const doc = list[i];
    if (!isObject(doc)) {
      throw new CloudRequestError(400, 'record_not_object', `record ${i} of the batch is not a JSON object`);
    }
    const [start, end] = ranges[i]!;
    if (end - start > limits.maxRecordBytes) {
      throw new CloudRequestError(
        413,
        'record_too_large',
        `record ${i} of the batch is ${end - start} bytes; at most ${limits.maxRecordBytes} per record`,
      );
    }
    out[i] = { start, end, doc };
  }
  return out;
}

const MAX_KEY = 255;
const str = (v: unknown): string | null =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_KEY ? v : null;
const sub = (v: unknown): Record<string, unknown> | null => (isObject(v) ? v : null);

/** `projects/p1/logs/x`, `projects/p1/subscriptions/s` → `p1` (also organizations, folders, billing accounts). */
function gcpParent(name: unknown): string | null {
  const s = str(name);
  if (s === null) return null;
  const m = /^(?:projects|organizations|folders|billingAccounts)\/([^/]+)\//.exec(s);
  return m === null ? null : m[1]!;
}

function gcpEntryKey(e: Record<string, unknown>): string | null {
  const labels = sub(sub(e.resource)?.labels);
  return str(labels?.project_id) ?? gcpParent(e.logName);
}

/**
 * The Kafka key of a cloud record: the account it comes from, so one account's records stay in order
 * on one partition. CloudTrail: `recipientAccountId`, else `userIdentity.accountId`. Azure: the
 * subscription in `resourceId` (lower-cased: Azure writes it in either case), else `tenantId`. GCP:
 * `resource.labels.project_id`, else the parent in `logName`; a Pub/Sub push envelope: its LogEntry's,
 * else the project of its subscription. Null when the record names none (the caller uses the peer).
 */
export function accountOf(sourceType: CloudSourceType, doc: Record<string, unknown>): string | null {
  switch (sourceType) {
    case 'cloudtrail':
      return str(doc.recipientAccountId) ?? str(sub(doc.userIdentity)?.accountId);
    case 'azure_activity': {
      const rid = str(doc.resourceId) ?? str(doc.ResourceId);
      const m = rid === null ? null : /^\/subscriptions\/([^/]+)/i.exec(rid);
      return m !== null ? m[1]!.toLowerCase() : (str(doc.tenantId) ?? str(doc.subscriptionId));
    }
    case 'gcp_logging': {
      const message = sub(doc.message);
      if (message !== null && typeof message.data === 'string' && !('logName' in doc)) {
        try {
          const inner = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8')) as unknown;
          const k = isObject(inner) ? gcpEntryKey(inner) : null;
          if (k !== null) return k;
        } catch {
          // not JSON inside: the normalizer will say so; key by the subscription
        }
        return gcpParent(doc.subscription);
      }
      return gcpEntryKey(doc);
    }
  }
}
