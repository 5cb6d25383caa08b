import { createHash } from 'node:crypto';

/**
 * Event ids for normalized rows, deterministic so that re-processing a raw event (a redelivery after a
 * consumer crash) produces the same ids and the idempotent storage write drops the duplicates.
 *
 * - Record 0 of a raw event whose id is a UUID keeps the raw id: a single-record event (every syslog
 *   and Windows event) is stored under the id the gateway gave it, so a row can be traced back to its
 *   `siem.raw` record without a lookup.
 * - Any other record (index > 0 of a CloudTrail `Records` or Azure `records` batch, or a raw id that is
 *   not a UUID) gets a UUIDv7-shaped id: the 48-bit millisecond timestamp of the raw id (or of
 *   `receivedAt` when the raw id is not a UUIDv7), version 7, RFC 4122 variant, and the remaining 74 bits
 *   from SHA-256(raw id, NUL, decimal index). Rows of one batch therefore sort with their raw event in
 *   time-ordered indexes, and a collision needs a SHA-256 collision within the same millisecond.
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function isUuid(id: string): boolean {
  return id.length === 36 && UUID_RE.test(id);
}

function timestampHex(rawId: string, receivedAtMs: number): string {
  if (isUuid(rawId) && rawId.charCodeAt(14) === 55 /* '7' */) {
    return (rawId.slice(0, 8) + rawId.slice(9, 13)).toLowerCase();
  }
  const ms = Number.isFinite(receivedAtMs) && receivedAtMs > 0 ? Math.floor(receivedAtMs) : 0;
  return ms.toString(16).padStart(12, '0').slice(-12);
}

export function recordEventId(rawId: string, receivedAtMs: number, index: number): string {
  if (index === 0 && isUuid(rawId)) return rawId.toLowerCase();
  const ts = timestampHex(rawId, receivedAtMs);
  const h = createHash('sha256').update(rawId).update('\u0000').update(String(index)).digest();
  return (
    `${ts.slice(0, 8)}-${ts.slice(8, 12)}-` +
    `7${(h[0]! & 0x0f).toString(16)}${HEX[h[1]!]}-` +
    `${HEX[0x80 | (h[2]! & 0x3f)]}${HEX[h[3]!]}-` +
    `${HEX[h[4]!]}${HEX[h[5]!]}${HEX[h[6]!]}${HEX[h[7]!]}${HEX[h[8]!]}${HEX[h[9]!]}`
  );
}
