import { createHash } from 'node:crypto';
import { parseTime } from './time-param.js';

/**
 * The position after the last event of a page, in the order of the query: time desc, event_id desc,
 * tenant_id desc. `time` keeps the database's microseconds (a JavaScript Date would round them away and
 * pages would then skip or repeat events of the same millisecond).
 */
export interface CursorPosition {
  /** `2025-01-31T08:00:00.123456Z` */
  time: string;
  eventId: string;
  tenantId: string;
}

const VERSION = 1;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function digest(fingerprint: string): string {
  return createHash('sha256').update(fingerprint).digest('base64url').slice(0, 12);
}

/**
 * An opaque cursor: base64url of `[version, time, event id, tenant, digest of the filters]`. The
 * digest makes a cursor passed back with other filters a clear 400 instead of a silently wrong page.
 * Cursors are not secret: every value they carry is a bound parameter, and tenant isolation is
 * enforced by the key, never by the cursor.
 */
export function encodeCursor(pos: CursorPosition, fingerprint: string): string {
  return Buffer.from(
    JSON.stringify([VERSION, pos.time, pos.eventId, pos.tenantId, digest(fingerprint)]),
  ).toString('base64url');
}

/** The position, or why the cursor cannot be used. */
export function decodeCursor(text: string, fingerprint: string): CursorPosition | string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return 'is not a cursor returned by this API';
  }
  if (
    !Array.isArray(value) ||
    value.length !== 5 ||
    value[0] !== VERSION ||
    typeof value[1] !== 'string' ||
    !TIME.test(value[1]) ||
    // the shape is not enough: a tampered 2026-02-30 would reach the database and fail the query
    typeof parseTime(value[1]) === 'string' ||
    typeof value[2] !== 'string' ||
    !UUID.test(value[2]) ||
    typeof value[3] !== 'string' ||
    value[3].includes('\u0000') ||
    typeof value[4] !== 'string'
  ) {
    return 'is not a cursor returned by this API';
  }
  if (value[4] !== digest(fingerprint)) {
    return 'was issued for other filters: repeat the filters of the first page with next=';
  }
  return { time: value[1], eventId: value[2], tenantId: value[3] };
}
