import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { NormalizedEvent } from '@siem/core';
import { EVENT_COLUMNS } from './columns.js';

/**
 * Turning a NormalizedEvent into column values the database cannot refuse. A value PostgreSQL would
 * reject (a NUL character, a malformed address, a port out of range) would fail the whole batch and,
 * replayed, fail it again forever; so each one is coerced here to the nearest storable value, the
 * original kept in `attrs._storage` where it carried information, and counted by reason.
 */
export const coercionReasons = [
  'invalid_time',
  'invalid_received_at',
  'invalid_event_id',
  'missing_field',
  'invalid_ip',
  'invalid_port',
  'invalid_pid',
  'invalid_severity',
  'invalid_class_uid',
  'nul_char',
  'invalid_json',
  /** The database refused the row all the same; a minimal row keeps its raw event (writer.ts). */
  'rejected_row',
] as const;
export type CoercionReason = (typeof coercionReasons)[number];

export type CoercionCounts = Partial<Record<CoercionReason, number>>;

export const COLUMN_COUNT = EVENT_COLUMNS.length;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NUL = /\0/g;
// JSON.stringify writes NUL as \u0000 and lone surrogates as \udXXX escapes: jsonb rejects both.
const JSON_UNSTORABLE = /\\u0000|\\ud[89a-f]/i;

function bump(counts: CoercionCounts, reason: CoercionReason): void {
  counts[reason] = (counts[reason] ?? 0) + 1;
}

function text(v: unknown, counts: CoercionCounts): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === 'string' ? v : String(v);
  if (s.includes('\0')) {
    bump(counts, 'nul_char');
    return s.replace(NUL, '\uFFFD');
  }
  return s;
}

function required(v: unknown, fallback: string, counts: CoercionCounts): string {
  const s = text(v, counts);
  if (s === null || s === '') {
    bump(counts, 'missing_field');
    return fallback;
  }
  return s;
}

function cleanJsonValue(_key: string, value: unknown): unknown {
  // A UTF-8 round trip turns lone surrogates into U+FFFD.
  if (typeof value === 'string') return Buffer.from(value.replace(NUL, '\uFFFD')).toString();
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function attrsJson(attrs: unknown, extra: Record<string, unknown> | null, counts: CoercionCounts): string {
  let value: unknown = attrs;
  if (value === null || value === undefined) value = {};
  else if (typeof value !== 'object' || Array.isArray(value)) {
    bump(counts, 'invalid_json');
    value = { value };
  }
  if (extra !== null) value = { ...(value as object), _storage: extra };
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    bump(counts, 'invalid_json');
    try {
      return JSON.stringify(value, cleanJsonValue);
    } catch {
      return JSON.stringify({ _storage: { ...extra, attrs: 'unserializable' } });
    }
  }
  if (JSON_UNSTORABLE.test(json)) {
    bump(counts, 'nul_char');
    json = JSON.stringify(value, cleanJsonValue);
  }
  return json;
}

/** A UUID derived from the event's content: stable across replays, so idempotency survives a bad id. */
function contentUuid(e: NormalizedEvent, time: string): string {
  const h = createHash('sha256')
    .update(`${String(e.tenantId)}\n${time}\n${String(e.raw)}\n${String(e.message)}`)
    .digest('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function ip(v: unknown): string | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string') return undefined;
  const zone = v.indexOf('%'); // PostgreSQL's inet has no zone index (fe80::1%eth0)
  const addr = zone === -1 ? v : v.slice(0, zone);
  return isIP(addr) === 0 ? undefined : addr;
}

function port(v: unknown): string | null | undefined {
  if (v === null || v === undefined) return null;
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? String(v) : undefined;
}

/**
 * Fills `out` (length COLUMN_COUNT, in EVENT_COLUMNS order) with the event's storable values as text
 * (null for SQL NULL) and returns the event time in epoch milliseconds (for partition routing).
 */
export function prepareRow(e: NormalizedEvent, out: Array<string | null>, counts: CoercionCounts): number {
  let extra: Record<string, unknown> | null = null;
  const keep = (field: string, value: unknown, reason: CoercionReason) => {
    bump(counts, reason);
    extra ??= {};
    extra[field] = typeof value === 'bigint' ? value.toString() : value;
  };

  let receivedAt = e.receivedAt;
  let receivedMs =
    typeof receivedAt === 'string' && ISO_TIME.test(receivedAt) ? Date.parse(receivedAt) : Number.NaN;
  if (Number.isNaN(receivedMs)) {
    receivedMs = typeof receivedAt === 'string' ? Date.parse(receivedAt) : Number.NaN;
    if (Number.isNaN(receivedMs)) receivedMs = Date.now();
    keep('received_at', receivedAt, 'invalid_received_at');
    receivedAt = new Date(receivedMs).toISOString();
  }
  let time = e.time;
  let timeMs = typeof time === 'string' && ISO_TIME.test(time) ? Date.parse(time) : Number.NaN;
  if (Number.isNaN(timeMs)) {
    timeMs = typeof time === 'string' ? Date.parse(time) : Number.NaN;
    if (Number.isNaN(timeMs)) timeMs = receivedMs; // an event without a readable time happened when it arrived
    keep('time', time, 'invalid_time');
    time = new Date(timeMs).toISOString();
  }

  out[0] = time;
  out[1] = receivedAt;
  out[2] = required(e.tenantId, 'default', counts);
  if (typeof e.eventId === 'string' && UUID.test(e.eventId)) out[3] = e.eventId;
  else {
    keep('event_id', e.eventId, 'invalid_event_id');
    out[3] = contentUuid(e, time);
  }
  out[4] = required(e.sourceType, 'unknown', counts);
  out[5] = text(e.hostName, counts);
  const hostIp = ip(e.hostIp);
  if (hostIp === undefined) keep('host_ip', e.hostIp, 'invalid_ip');
  out[6] = hostIp ?? null;
  out[7] = text(e.appName, counts);
  const sev = e.severity;
  if (Number.isInteger(sev) && sev >= 0 && sev <= 7) out[8] = String(sev);
  else {
    keep('severity', sev, 'invalid_severity');
    const n = Math.trunc(Number(sev));
    out[8] = Number.isFinite(n) ? String(Math.min(7, Math.max(0, n))) : '6';
  }
  out[9] = required(e.category, 'other', counts);
  out[10] = text(e.action, counts);
  out[11] = required(e.outcome, 'unknown', counts);
  out[12] = text(e.userName, counts);
  const srcIp = ip(e.srcIp);
  if (srcIp === undefined) keep('src_ip', e.srcIp, 'invalid_ip');
  out[13] = srcIp ?? null;
  const srcPort = port(e.srcPort);
  if (srcPort === undefined) keep('src_port', e.srcPort, 'invalid_port');
  out[14] = srcPort ?? null;
  const dstIp = ip(e.dstIp);
  if (dstIp === undefined) keep('dst_ip', e.dstIp, 'invalid_ip');
  out[15] = dstIp ?? null;
  const dstPort = port(e.dstPort);
  if (dstPort === undefined) keep('dst_port', e.dstPort, 'invalid_port');
  out[16] = dstPort ?? null;
  out[17] = text(e.processName, counts);
  const pid = e.processPid;
  if (pid === null || pid === undefined) out[18] = null;
  else if (Number.isSafeInteger(pid) && pid >= 0) out[18] = String(pid);
  else {
    keep('process_pid', pid, 'invalid_pid');
    out[18] = null;
  }
  out[19] = text(e.eventCode, counts);
  out[20] = text(e.message, counts);
  const cls = e.classUid;
  if (cls === null || cls === undefined) out[23] = null;
  else if (Number.isInteger(cls) && cls >= -2147483648 && cls <= 2147483647) out[23] = String(cls);
  else {
    keep('class_uid', cls, 'invalid_class_uid');
    out[23] = null;
  }
  out[22] = text(e.raw, counts) ?? '';
  out[21] = attrsJson(e.attrs, extra, counts);
  return timeMs;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_G = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const copyEscapeChar = (ch: string) => COPY_ESCAPES[ch]!;

/** One line of COPY text format (tab-separated, `\N` for NULL, backslash escapes). */
export function copyTextLine(values: ReadonlyArray<string | null>): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) line += '\t';
    if (v === null || v === undefined) line += '\\N';
    else line += COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIAL_G, copyEscapeChar) : v;
  }
  return `${line}\n`;
}
