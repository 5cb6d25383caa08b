import { CloudRequestError } from './errors.js';
import { BatchScanner, type ScannedRecord } from './json-scan.js';
import type { CloudSourceType } from './options.js';
import { LoopTurns, SLICE_BYTES } from './turns.js';

export { type CloudRefusal, CloudRequestError } from './errors.js';

/** One record of a batch: its bytes in the body, its parsed form (for the key), the rows it becomes. */
export interface CloudRecord {
  start: number;
  end: number;
  doc: Record<string, unknown>;
  rows: number;
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

/** The scan of a whole body at once (tests, and bodies known to be small). */
export function scanRecords(
  sourceType: CloudSourceType,
  body: Buffer,
  limits: { maxRecordBytes: number; maxRecords: number; maxDepth?: number },
): ScannedRecord[] {
  const scanner = new BatchScanner(batchKeys[sourceType], { maxDepth: 64, ...limits });
  scanner.write(body);
  return scanner.end();
}

/**
 * The rows a GCP Pub/Sub push envelope becomes: the normalizer reads its `message.data` (base64) as a
 * LogEntry, an array of them or an `{"entries": [...]}` batch.
 */
function pubSubRows(doc: Record<string, unknown>): number {
  const message = doc.message;
  if (!isObject(message) || typeof message.data !== 'string' || 'logName' in doc) return 1;
  let inner: unknown;
  try {
    inner = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch {
    return 1; // the normalizer sends it to the dead letters, as one
  }
  const list = Array.isArray(inner) ? inner : isObject(inner) ? inner.entries : undefined;
  return Array.isArray(list) ? Math.max(1, list.length) : 1;
}

/**
 * The records the scanner found, parsed one at a time (each at most max_record_bytes, the loop getting
 * a turn every megabyte), with the rows each becomes; the total is checked again once Pub/Sub envelopes
 * are opened.
 */
export async function parseRecords(
  sourceType: CloudSourceType,
  body: Buffer,
  scanned: ScannedRecord[],
  limits: { maxRecords: number },
): Promise<CloudRecord[]> {
  const out: CloudRecord[] = new Array(scanned.length);
  const turns = new LoopTurns(SLICE_BYTES);
  let rows = 0;
  for (let i = 0; i < scanned.length; i++) {
    const { start, end } = scanned[i]!;
    const turn = turns.spend(end - start);
    if (turn !== null) await turn;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(body.toString('utf8', start, end)) as Record<string, unknown>;
    } catch (err) {
      // the scan checked the JSON already: only a scanner bug gets here, and the sender hears why
      throw new CloudRequestError(
        400,
        'invalid_json',
        `record ${i} of the batch is not valid JSON: ${(err as Error).message}`,
      );
    }
    const recordRows =
      sourceType === 'gcp_logging' ? Math.max(scanned[i]!.rows, pubSubRows(doc)) : scanned[i]!.rows;
    rows += recordRows;
    if (rows > limits.maxRecords) {
      throw new CloudRequestError(
        413,
        'too_many_records',
        `the batch holds more than ${limits.maxRecords} records (counting those of nested batches and Pub/Sub messages); at most ${limits.maxRecords} per request (cloud_http.max_records): split it`,
      );
    }
    out[i] = { start, end, doc, rows: recordRows };
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
