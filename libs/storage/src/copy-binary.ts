import { isIPv4 } from 'node:net';
import { EVENT_COLUMNS } from './columns.js';

/**
 * Event rows in PostgreSQL's binary COPY format, for the embedded engine's bulk channel: the engine is
 * WebAssembly on one thread, and parsing text into timestamps, UUIDs, addresses and integers was a
 * third of its work per row; here that work moves to the writer's process. The input is what
 * `prepareRow` made (text values the database accepts, already coerced), so every value here is
 * well-formed; each becomes the type's binary form (`*_recv` in PostgreSQL's sources):
 *
 * - timestamptz: int64 microseconds since 2000-01-01 UTC, the fraction rounded as `timestamptz_in`
 *   does (`rint(frac × 10⁶)`);
 * - uuid: 16 bytes; inet: family (2 = IPv4, 3 = IPv6), prefix bits, is_cidr 0, length, address bytes;
 * - smallint/integer/bigint: big-endian; jsonb: version byte 1, then the JSON text; text: UTF-8.
 *
 * A request is a complete COPY stream: signature, flags, header extension, tuples, trailer.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]); // flags 0, header extension length 0
const TRAILER_BYTES = 2; // int16 -1

const Kind = { Text: 0, Timestamptz: 1, Uuid: 2, Inet: 3, Int2: 4, Int4: 5, Int8: 6, Jsonb: 7 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const KIND: Record<(typeof EVENT_COLUMNS)[number]['type'], Kind> = {
  text: Kind.Text,
  timestamptz: Kind.Timestamptz,
  uuid: Kind.Uuid,
  inet: Kind.Inet,
  smallint: Kind.Int2,
  integer: Kind.Int4,
  bigint: Kind.Int8,
  jsonb: Kind.Jsonb,
};
const KINDS = EVENT_COLUMNS.map((c) => KIND[c.type]);

/** Round half to even, as C's rint in the default rounding mode. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

/** An ISO 8601 time (as prepareRow leaves it) in microseconds since the PostgreSQL epoch. */
export function pgMicros(iso: string): bigint {
  const [ms, us] = pgTime(iso);
  return BigInt(ms) * 1000n + BigInt(us);
}

/**
 * An ISO 8601 time as whole milliseconds since the PostgreSQL epoch plus microseconds (0–1000, the
 * fraction beyond milliseconds rounded as timestamptz_in does: `rint(frac × 10⁶)` of the whole fraction).
 */
function pgTime(iso: string): [number, number] {
  if (iso.charCodeAt(19) === 46 /* . */) {
    let end = 20;
    while (end < iso.length && iso.charCodeAt(end) >= 48 && iso.charCodeAt(end) <= 57) end++;
    if (end <= 23) {
      // At most milliseconds (toISOString's form): Date.parse is exact.
      const ms = Date.parse(iso);
      if (!Number.isNaN(ms)) return [ms - PG_EPOCH_MS, 0];
    } else {
      const seconds = Date.parse(iso.slice(0, 19) + iso.slice(end));
      const us = rint(Number(`0.${iso.slice(20, end)}`) * 1e6);
      if (!Number.isNaN(seconds)) return [seconds - PG_EPOCH_MS + Math.floor(us / 1000), us % 1000];
    }
  }
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${JSON.stringify(iso)}`);
  return [ms - PG_EPOCH_MS, 0];
}

/** int64 big-endian of `ms × 1000 + us` without BigInt (exact: |ms| < 2⁵³ / 1000 is checked). */
function writeMicros(buf: Buffer, at: number, iso: string): void {
  const [ms, us] = pgTime(iso);
  const micros = ms * 1000 + us;
  if (Number.isSafeInteger(micros)) {
    const hi = Math.floor(micros / TWO_32);
    buf.writeInt32BE(hi, at);
    buf.writeUInt32BE(micros - hi * TWO_32, at + 4);
  } else buf.writeBigInt64BE(BigInt(ms) * 1000n + BigInt(us), at);
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** The 16 bytes of a UUID in its canonical text form (checked by prepareRow). */
function writeUuid(buf: Buffer, at: number, v: string): void {
  let k = at;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 45 /* - */) continue;
    buf[k++] = (HEX[c]! << 4) | HEX[v.charCodeAt(++i)]!;
  }
  if (k !== at + 16) throw new Error(`not a UUID: ${JSON.stringify(v)}`);
}

/** UTF-8 of `v` at `at`; short ASCII strings without a native call. Returns the bytes written. */
function writeText(buf: Buffer, at: number, v: string): number {
  const n = v.length;
  if (n <= 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    if (i === n) return n;
  }
  return buf.write(v, at, 'utf8');
}

/** The 16 bytes of an IPv6 address (isIP-checked text, no zone), written at `at`. */
function writeIPv6(addr: string, buf: Buffer, at: number): void {
  let head = addr;
  let tail = '';
  const gap = addr.indexOf('::');
  if (gap !== -1) {
    head = addr.slice(0, gap);
    tail = addr.slice(gap + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(all[i]!, at + 2 * i);
}

/** Binary COPY of the rows, in requests of about `bytes` bytes (whole rows), encoded lazily. */
export function* copyBinary(
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  bytes: number,
): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(Math.max(bytes * 2, 1 << 16));
  HEADER.copy(buf, 0);
  let pos = HEADER.length;
  const ensure = (n: number) => {
    if (pos + n + TRAILER_BYTES <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n + TRAILER_BYTES));
    buf.copy(bigger, 0, 0, pos);
    buf = bigger;
  };
  const finish = (): Buffer => {
    buf.writeInt16BE(-1, pos);
    const out = Buffer.from(buf.subarray(0, pos + TRAILER_BYTES));
    pos = HEADER.length;
    return out;
  };
  for (const row of rows) {
    ensure(2);
    buf.writeInt16BE(KINDS.length, pos);
    pos += 2;
    for (let i = 0; i < KINDS.length; i++) {
      const v = row[i];
      if (v === null || v === undefined) {
        ensure(4);
        buf.writeInt32BE(-1, pos);
        pos += 4;
        continue;
      }
      ensure(4 + 1 + v.length * 3 + 20);
      const at = pos + 4;
      let n: number;
      switch (KINDS[i]!) {
        case Kind.Text:
          n = writeText(buf, at, v);
          break;
        case Kind.Jsonb:
          buf[at] = 1;
          n = 1 + writeText(buf, at + 1, v);
          break;
        case Kind.Timestamptz:
          writeMicros(buf, at, v);
          n = 8;
          break;
        case Kind.Uuid:
          writeUuid(buf, at, v);
          n = 16;
          break;
        case Kind.Inet:
          if (isIPv4(v)) {
            buf[at] = 2;
            buf[at + 1] = 32;
            buf[at + 2] = 0;
            buf[at + 3] = 4;
            let octet = 0;
            let k = at + 4;
            for (let j = 0; j < v.length; j++) {
              const c = v.charCodeAt(j);
              if (c === 46) {
                buf[k++] = octet;
                octet = 0;
              } else octet = octet * 10 + c - 48;
            }
            buf[k] = octet;
            n = 8;
          } else {
            buf[at] = 3;
            buf[at + 1] = 128;
            buf[at + 2] = 0;
            buf[at + 3] = 16;
            writeIPv6(v, buf, at + 4);
            n = 20;
          }
          break;
        case Kind.Int2:
          buf.writeInt16BE(Number(v), at);
          n = 2;
          break;
        case Kind.Int4:
          buf.writeInt32BE(Number(v), at);
          n = 4;
          break;
        case Kind.Int8: {
          const x = Number(v);
          const hi = Math.floor(x / TWO_32);
          buf.writeInt32BE(hi, at);
          buf.writeUInt32BE(x - hi * TWO_32, at + 4);
          n = 8;
          break;
        }
      }
      buf.writeInt32BE(n, pos);
      pos = at + n;
    }
    if (pos >= bytes) yield finish();
  }
  if (pos > HEADER.length) yield finish();
}
