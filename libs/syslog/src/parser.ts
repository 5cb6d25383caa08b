import { isAscii, isUtf8 } from 'node:buffer';
import { type SyslogHeader, writeJsonAscii } from '@siem/core';
import { type CefRecord, findCef, parseCef } from './cef.js';
import { findLeef, type LeefRecord, parseLeef } from './leef.js';
import { type ZoneClock, zoneClock } from './timezone.js';
import { HASH_PRIME, HASH_SEED, hashedToken, tokenString } from './token-cache.js';

/**
 * The syslog parser: RFC 5424 in full and RFC 3164 as devices really send it, on Buffers.
 *
 * It never drops: what cannot be parsed stays in the message, with `parseError` naming the first
 * field that failed (a short, bounded reason usable as a metric label). Fields that parsed before the
 * failure are kept. It throws only for a caller error: an unknown `defaultTimezone`.
 *
 * RFC 3164 handling (see README.md for the differences from rsyslog):
 * - timestamps: `Mmm dd hh:mm:ss`, with optional fraction, a year before the time (Cisco ASA), a
 *   leading `*`/`.` and a sequence number (Cisco IOS), `yyyy Mmm dd` after `: ` (NX-OS), a zone name
 *   before a colon (only UTC/GMT are trusted), a trailing colon; RFC 3339 timestamps in legacy
 *   headers; the year is the one closest to the receive time and a timestamp without offset is read
 *   in the listener's default time zone.
 * - HOSTNAME is a word of letters, digits, `.`, `_`, `-` (or an IPv6 literal) ending in a letter or
 *   digit and followed by a space; when it is missing, a TAG takes its place.
 * - TAG is `name[pid]:`, `name:` or `name[pid]` before a space, where name starts with a letter, digit,
 *   `_`, `/` or `.` and holds a letter. A first word that is not shaped like a TAG (`date=…`,
 *   `%ASA-6-302013:`, `1,2024/01/18…`, `CEF:0|…`) is left in the message.
 *
 * Speed: one pass over the header bytes; header tokens are interned (token-cache.ts) because making a
 * string from bytes costs more than hashing a few of them; RFC 3164 timestamps are cached per second.
 */

export type SyslogFormat = 'auto' | 'rfc3164' | 'rfc5424';

export interface ParseOptions {
  /** Receive time; sets the year of year-less RFC 3164 timestamps. */
  receivedAtMs: number;
  /** IANA zone for timestamps without an offset (default UTC). */
  defaultTimezone?: string;
  format?: SyslogFormat;
  /** Look for CEF/LEEF payloads in MSG (default true). */
  extensions?: boolean;
  /**
   * Structured data as objects in header.structuredData (the default), or as JSON text in
   * ParsedHeader.structuredDataJson — what the gateway writes into the raw event, without objects.
   */
  structuredData?: 'object' | 'json';
}

/** Reasons in `parseError` (bounded: used as a metric label). */
export const parseErrorReasons = [
  'empty',
  'no_header',
  'invalid_pri',
  'not_rfc5424',
  'invalid_timestamp',
  'invalid_hostname',
  'invalid_app_name',
  'invalid_proc_id',
  'invalid_msg_id',
  'invalid_structured_data',
  'truncated_header',
] as const;
export type ParseErrorReason = (typeof parseErrorReasons)[number];

export interface ParsedSyslog {
  header: SyslogHeader;
  /** MSG as text (invalid UTF-8 replaced by U+FFFD). */
  message: string;
  parseError: ParseErrorReason | null;
  /** The payload is not well-formed UTF-8 (the raw bytes are kept by the raw event). */
  invalidUtf8: boolean;
  cef: CefRecord | null;
  leef: LeefRecord | null;
}

/** What the listeners need: the header and the error, without decoding MSG. */
export interface ParsedHeader {
  header: SyslogHeader;
  parseError: ParseErrorReason | null;
  /**
   * With `structuredData: 'json'`: the structured data as JSON (then header.structuredData is null), or
   * null when there is none or it was made as objects after all (header.structuredData).
   */
  structuredDataJson: string | null;
}

const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const DASH = 0x2d;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQ = 0x3d;

/** SD-NAME characters: printable US-ASCII except `=`, SP, `]` and `"` (RFC 5424 6.3.2). */
const SD_NAME = new Uint8Array(256);
for (let c = 33; c <= 126; c++) SD_NAME[c] = c === EQ || c === RBRACKET || c === QUOTE ? 0 : 1;

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

function digits2(buf: Buffer, i: number): number {
  const a = buf[i]! - 0x30;
  const b = buf[i + 1]! - 0x30;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** Buffer's own slice decoders (undocumented but stable since Node 0.x): no encoding dispatch. */
interface FastSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

function ascii(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}

/** Month from three letters (any case), 1–12, or 0. */
function monthOf(buf: Buffer, i: number): number {
  const k = ((buf[i]! | 0x20) << 16) | ((buf[i + 1]! | 0x20) << 8) | (buf[i + 2]! | 0x20);
  switch (k) {
    case 0x6a616e:
      return 1; // jan
    case 0x666562:
      return 2; // feb
    case 0x6d6172:
      return 3; // mar
    case 0x617072:
      return 4; // apr
    case 0x6d6179:
      return 5; // may
    case 0x6a756e:
      return 6; // jun
    case 0x6a756c:
      return 7; // jul
    case 0x617567:
      return 8; // aug
    case 0x736570:
      return 9; // sep
    case 0x6f6374:
      return 10; // oct
    case 0x6e6f76:
      return 11; // nov
    case 0x646563:
      return 12; // dec
    default:
      return 0;
  }
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function validDay(y: number, m: number, d: number): boolean {
  return d >= 1 && d <= (m === 2 && !isLeap(y) ? 28 : MONTH_DAYS[m - 1]!);
}

/** Per-call state, reused: the parser is synchronous and never re-entered. */
class Cursor {
  buf: Buffer = Buffer.alloc(0);
  end = 0;
  clock: ZoneClock = zoneClock('UTC');
  receivedAtMs = 0;
  // results of the timestamp scanners
  ts: string | null = null;
  tsEnd = 0;
  /** Structured data wanted as JSON text (ParseOptions.structuredData), and that text. */
  sdAsJson = false;
  sdJson: string | null = null;
}

const cur = new Cursor();

// Year of the receive time, cached for the last (receivedAt, zone) pair: listeners parse batches that
// share a receive time.
let yearCacheMs = Number.NaN;
let yearCacheClock: ZoneClock | null = null;
let yearCacheLocalMs = 0;
let yearCacheYear = 0;

function receivedLocal(c: Cursor): number {
  if (c.receivedAtMs !== yearCacheMs || c.clock !== yearCacheClock) {
    yearCacheMs = c.receivedAtMs;
    yearCacheClock = c.clock;
    yearCacheLocalMs = c.receivedAtMs + c.clock.offsetAtInstant(c.receivedAtMs) * 60_000;
    yearCacheYear = new Date(yearCacheLocalMs).getUTCFullYear();
  }
  return yearCacheLocalMs;
}

/** The year (of three candidates) that puts month/day/time closest to the receive time. */
function closestYear(c: Cursor, mon: number, day: number, h: number, mi: number, s: number): number {
  const local = receivedLocal(c);
  const y0 = yearCacheYear;
  let best = -1;
  let bestDist = Number.POSITIVE_INFINITY;
  for (let y = y0 - 1; y <= y0 + 1; y++) {
    if (!validDay(y, mon, day)) continue;
    const dist = Math.abs(Date.UTC(y, mon - 1, day, h, mi, s) - local);
    if (dist < bestDist) {
      bestDist = dist;
      best = y;
    }
  }
  return best;
}

/**
 * RFC 3339 at `i` (`YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`); also `YYYY-MM-DD hh:mm:ss` and a missing
 * offset when `lenient` (legacy headers), then the default zone applies. Sets c.ts/c.tsEnd.
 */
function scan3339(c: Cursor, i: number, lenient: boolean): boolean {
  const buf = c.buf;
  if (i + 19 > c.end) return false;
  if (buf[i + 4] !== DASH || buf[i + 7] !== DASH || buf[i + 13] !== COLON || buf[i + 16] !== COLON) {
    return false;
  }
  const t = buf[i + 10]!;
  if (t !== 0x54 && t !== 0x74 && !(lenient && t === SP)) return false;
  const y1 = digits2(buf, i);
  const y2 = digits2(buf, i + 2);
  const mon = digits2(buf, i + 5);
  const day = digits2(buf, i + 8);
  const h = digits2(buf, i + 11);
  const mi = digits2(buf, i + 14);
  const s = digits2(buf, i + 17);
  if (y1 < 0 || y2 < 0 || mon < 1 || mon > 12 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) {
    return false;
  }
  const year = y1 * 100 + y2;
  if (!validDay(year, mon, day)) return false;
  let j = i + 19;
  let fracEnd = j;
  if (j < c.end && buf[j] === 0x2e) {
    j++;
    const f0 = j;
    while (j < c.end && j - f0 < 9 && isDigit(buf[j]!)) j++;
    if (j === f0) return false;
    fracEnd = j;
  }
  const z = j < c.end ? buf[j]! : -1;
  let suffix: string;
  let end: number;
  if (z === 0x5a || z === 0x7a) {
    suffix = 'Z';
    end = j + 1;
  } else if (z === 0x2b || z === DASH) {
    if (j + 6 > c.end || buf[j + 3] !== COLON) return false;
    const oh = digits2(buf, j + 1);
    const om = digits2(buf, j + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
    suffix = '';
    end = j + 6;
  } else if (lenient) {
    suffix = c.clock.suffixAtLocal(Date.UTC(year, mon - 1, day, h, mi, s));
    end = j;
  } else {
    return false;
  }
  if (t === 0x54 && (z === 0x5a || suffix === '')) {
    c.ts = ascii(buf, i, end); // already canonical: upper-case T, Z or a numeric offset
  } else {
    const offset = suffix === '' ? ascii(buf, j, j + 6) : suffix;
    c.ts = `${ascii(buf, i, i + 10)}T${ascii(buf, i + 11, fracEnd)}${offset}`;
  }
  c.tsEnd = end;
  return true;
}

function twoOrOneDigits(buf: Buffer, i: number, end: number): number {
  if (i >= end || !isDigit(buf[i]!)) return -1;
  let v = buf[i]! - 0x30;
  let j = i + 1;
  if (j < end && isDigit(buf[j]!)) {
    v = v * 10 + (buf[j]! - 0x30);
    j++;
  }
  return j * 128 + v; // the end and the value in one number: no array per timestamp
}

/**
 * An RFC 3164 timestamp at `i`: `Mmm dd hh:mm:ss`, `Mmm  d hh:mm:ss`, `Mmm dd yyyy hh:mm:ss`, with an
 * optional `.fraction`, an optional ` UTC`/` GMT` (or other zone name, ignored) before a colon, and an
 * optional trailing colon. Sets c.ts/c.tsEnd; c.tsEnd points after the timestamp (at the space).
 */
function scan3164(c: Cursor, i: number, cisco: boolean): boolean {
  const buf = c.buf;
  const end = c.end;
  let year = -1;
  // `yyyy Mmm dd hh:mm:ss` (Cisco NX-OS, after its `: ` marker)
  if (cisco && i + 19 <= end && buf[i + 4] === SP && isDigit(buf[i]!) && isDigit(buf[i + 3]!)) {
    const y1 = digits2(buf, i);
    const y2 = digits2(buf, i + 2);
    if (y1 < 0 || y2 < 0) return false;
    year = y1 * 100 + y2;
    i += 5;
  }
  if (i + 14 > end) return false;
  const mon = monthOf(buf, i);
  if (mon === 0 || buf[i + 3] !== SP) return false;
  let j = i + 4;
  if (buf[j] === SP) j++;
  const d = twoOrOneDigits(buf, j, end);
  if (d < 0 || buf[d >>> 7] !== SP) return false;
  const day = d & 127;
  j = (d >>> 7) + 1;
  // `Mmm dd yyyy hh:mm:ss` (Cisco ASA and IOS with `service timestamps … year`)
  if (
    year < 0 &&
    j + 5 <= end &&
    isDigit(buf[j]!) &&
    isDigit(buf[j + 2]!) &&
    buf[j + 4] === SP &&
    buf[j + 2] !== COLON
  ) {
    const y1 = digits2(buf, j);
    const y2 = digits2(buf, j + 2);
    if (y1 < 0 || y2 < 0) return false;
    year = y1 * 100 + y2;
    j += 5;
  }
  if (j + 8 > end || buf[j + 2] !== COLON || buf[j + 5] !== COLON) return false;
  const h = digits2(buf, j);
  const mi = digits2(buf, j + 3);
  const s = digits2(buf, j + 6);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return false;
  j += 8;
  let fracStart = j;
  let fracEnd = j;
  if (j < end && buf[j] === 0x2e && j + 1 < end && isDigit(buf[j + 1]!)) {
    fracStart = j;
    j++;
    while (j < end && j - fracStart <= 9 && isDigit(buf[j]!)) j++;
    fracEnd = j;
  }
  let utc = false;
  // ` UTC:` / ` CET:` — a zone name before a colon (Cisco); only UTC/GMT/Z can be trusted
  if (j + 2 < end && buf[j] === SP && buf[j + 1]! >= 0x41 && buf[j + 1]! <= 0x5a) {
    let k = j + 1;
    while (k < end && k - j <= 6 && buf[k]! >= 0x41 && buf[k]! <= 0x5a) k++;
    if (k < end && buf[k] === COLON && k - j - 1 >= 1) {
      const zone = ascii(buf, j + 1, k);
      utc = zone === 'UTC' || zone === 'GMT' || zone === 'UT';
      // another zone name is only taken for one where Cisco's layout makes it one (not a TAG like `FW:`)
      if (utc || cisco || year >= 0 || fracEnd > fracStart) j = k;
    }
  }
  if (j < end && buf[j] === COLON) j++;
  if (j < end && buf[j] !== SP) return false;
  const key = (((((year + 1) * 13 + mon) * 32 + day) * 24 + h) * 60 + mi) * 122 + s * 2 + (utc ? 1 : 0);
  let ts = cachedTimestamp(c, key);
  if (ts === undefined) {
    if (year < 0) {
      year = closestYear(c, mon, day, h, mi, s);
      if (year < 0) return false;
    } else if (!validDay(year, mon, day)) {
      return false;
    }
    const suffix = utc ? 'Z' : c.clock.suffixAtLocal(Date.UTC(year, mon - 1, day, h, mi, s));
    ts = `${year}-${PAD2[mon]}-${PAD2[day]}T${PAD2[h]}:${PAD2[mi]}:${PAD2[s]}${suffix}`;
    tsCache.set(key, ts);
  }
  c.ts = fracEnd > fracStart ? `${ts.slice(0, 19)}${ascii(buf, fracStart, fracEnd)}${ts.slice(19)}` : ts;
  c.tsEnd = j;
  return true;
}

// RFC 3164 timestamps by their fields, valid for one zone and one receive day (the year depends on it).
const tsCache = new Map<number, string>();
let tsCacheClock: ZoneClock | null = null;
let tsCacheDay = Number.NaN;

function cachedTimestamp(c: Cursor, key: number): string | undefined {
  const day = Math.floor(c.receivedAtMs / 86_400_000);
  if (c.clock !== tsCacheClock || day !== tsCacheDay || tsCache.size > 8192) {
    tsCache.clear();
    tsCacheClock = c.clock;
    tsCacheDay = day;
    return undefined;
  }
  return tsCache.get(key);
}

function newHeader(format: SyslogHeader['format']): SyslogHeader {
  return {
    format,
    facility: null,
    severity: null,
    timestamp: null,
    hostname: null,
    appName: null,
    procId: null,
    msgId: null,
    structuredData: null,
    msgOffset: null,
  };
}

/** PRI at 0: returns the offset after `>`, 0 when there is no PRI, -1 when it is malformed. */
function scanPri(buf: Buffer, end: number, h: SyslogHeader): number {
  if (end === 0 || buf[0] !== LT) return 0;
  let v = 0;
  let i = 1;
  while (i < end && i <= 4 && isDigit(buf[i]!)) {
    v = v * 10 + (buf[i]! - 0x30);
    i++;
  }
  if (i === 1 || i > 4 || i >= end || buf[i] !== GT || v > 191) return -1;
  h.facility = v >> 3;
  h.severity = v & 7;
  return i + 1;
}

function skipBom(buf: Buffer, i: number, end: number): number {
  return i + 2 < end && buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf ? i + 3 : i;
}

// ---------------------------------------------------------------------------------------------- 5424

/** A header field of printable US-ASCII (33–126) up to SP, at most `max` long. Returns its end or -1. */
function field5424(buf: Buffer, i: number, end: number, max: number): number {
  const start = i;
  while (i < end) {
    const b = buf[i]!;
    if (b === SP) break;
    if (b < 33 || b > 126) return -1;
    i++;
  }
  if (i === start || i - start > max) return -1;
  return i;
}

function nilOrToken(buf: Buffer, start: number, end: number): string | null {
  return end - start === 1 && buf[start] === DASH ? null : tokenString(buf, start, end);
}

function decodeUtf8(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++)
    if (buf[i]! >= 0x80) return (buf as unknown as FastSlices).utf8Slice(start, end);
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}

/** A PARAM-VALUE with escapes: `\"`, `\\`, `\]` stand for the character; other backslashes stay. */
function paramValue(buf: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === BACKSLASH && i + 1 < end) {
      const n = buf[i + 1]!;
      if (n === QUOTE || n === BACKSLASH || n === RBRACKET) {
        out[o++] = n;
        i++;
        continue;
      }
    }
    out[o++] = b;
  }
  return decodeUtf8(out, 0, o);
}

/*
 * Structured data as JSON text (ParseOptions.structuredData 'json'): written here while the bytes are
 * scanned, so the gateway builds no SD objects and serialises none. Grows on demand; the text is read
 * out as one string per message.
 */
let sdOut = Buffer.allocUnsafe(4096);
const SD_IDS_MAX = 64;
const sdIdStart = new Int32Array(SD_IDS_MAX);
const sdIdEnd = new Int32Array(SD_IDS_MAX);

function sdRoom(at: number, need: number): void {
  if (at + need <= sdOut.length) return;
  const grown = Buffer.allocUnsafe(Math.max(sdOut.length * 2, at + need));
  sdOut.copy(grown, 0, 0, at);
  sdOut = grown;
}

/** SD-NAME bytes `[start, end)` as a JSON string at `o` of sdOut (room reserved): `\` is its only escape. */
function sdJsonName(buf: Buffer, start: number, end: number, o: number): number {
  const out = sdOut;
  out[o++] = QUOTE;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === BACKSLASH) out[o++] = BACKSLASH;
    out[o++] = b;
  }
  out[o++] = QUOTE;
  return o;
}

/** Whether the SD-ID at `[start, end)` already named an element of this message (up to `count`). */
function sdIdSeen(buf: Buffer, start: number, end: number, count: number): boolean {
  const n = end - start;
  for (let k = 0; k < count; k++) {
    if (sdIdEnd[k]! - sdIdStart[k]! !== n) continue;
    let j = 0;
    while (j < n && buf[sdIdStart[k]! + j] === buf[start + j]) j++;
    if (j === n) return true;
  }
  return false;
}

/**
 * STRUCTURED-DATA at `i` (which holds `[`). Returns the offset after the last element, or -1.
 * A PARAM-NAME repeated inside an element keeps its last value. As objects in h.structuredData, or —
 * when the cursor asks for JSON — as JSON text in c.sdJson, the same object once parsed. Text that JSON
 * would not give back as the same object (an SD-ID repeated: its elements merge), and non-ASCII
 * values, are made as objects even then.
 */
function scanStructuredData(c: Cursor, i: number, h: SyslogHeader): number {
  const buf = c.buf;
  const end = c.end;
  const json = c.sdAsJson;
  // null-prototype objects: a wire key can never reach a prototype, and V8 keeps them as dictionaries,
  // which is faster than fast-mode objects past a dozen keys (Junos, NXLog send 20–30 params)
  const sd: Record<string, Record<string, string>> | null = json ? null : Object.create(null);
  const start = i;
  let o = 0;
  let elements = 0;
  if (json) {
    sdRoom(0, 1);
    sdOut[o++] = 0x7b; // {
  }
  while (i < end && buf[i] === LBRACKET) {
    i++;
    const idStart = i;
    let hash = HASH_SEED;
    let b = 0;
    // SD-ID and PARAM-NAME: SD-NAME characters, hashed while scanned (one pass)
    while (i < end) {
      b = buf[i]!;
      if (SD_NAME[b] !== 1) break;
      hash = Math.imul(hash ^ b, HASH_PRIME);
      i++;
    }
    if (i === idStart || i - idStart > 32 || i >= end || (b !== SP && b !== RBRACKET)) return -1;
    let params: Record<string, string> | null = null;
    if (sd !== null) {
      const id = hashedToken(buf, idStart, i, hash, 0);
      params = sd[id] ?? null;
      if (params === null) {
        params = Object.create(null) as Record<string, string>;
        sd[id] = params;
      }
    } else {
      if (elements === SD_IDS_MAX || sdIdSeen(buf, idStart, i, elements)) return sdAsObjects(c, start, h);
      sdIdStart[elements] = idStart;
      sdIdEnd[elements] = i;
      sdRoom(o, 2 * (i - idStart) + 5);
      if (elements > 0) sdOut[o++] = 0x2c; // ,
      o = sdJsonName(buf, idStart, i, o);
      sdOut[o++] = 0x3a; // :
      sdOut[o++] = 0x7b; // {
    }
    elements++;
    let first = true;
    while (i < end && buf[i] === SP) {
      i++;
      const nameStart = i;
      hash = HASH_SEED;
      while (i < end) {
        b = buf[i]!;
        if (SD_NAME[b] !== 1) break;
        hash = Math.imul(hash ^ b, HASH_PRIME);
        i++;
      }
      if (b !== EQ || i === nameStart || i - nameStart > 32 || i + 1 >= end || buf[i + 1] !== QUOTE)
        return -1;
      const nameEnd = i;
      i += 2;
      const valueStart = i;
      hash = HASH_SEED;
      let high = 0;
      let escapes = false;
      while (i < end) {
        b = buf[i]!;
        if (b === QUOTE) break;
        if (b === BACKSLASH) {
          escapes = true;
          i += 2;
          continue;
        }
        hash = Math.imul(hash ^ b, HASH_PRIME);
        high |= b;
        i++;
      }
      if (i >= end) return -1;
      if (params !== null) {
        const name = hashedToken(buf, nameStart, nameEnd, hash, 0);
        params[name] = escapes ? paramValue(buf, valueStart, i) : hashedToken(buf, valueStart, i, hash, high);
      } else {
        if (high >= 0x80 || (escapes && !isAscii(buf.subarray(valueStart, i))))
          return sdAsObjects(c, start, h);
        sdRoom(o, 2 * (nameEnd - nameStart) + 6 * (i - valueStart) + 6);
        if (!first) sdOut[o++] = 0x2c; // ,
        o = sdJsonName(buf, nameStart, nameEnd, o);
        sdOut[o++] = 0x3a; // :
        o = sdJsonValue(buf, valueStart, i, o);
      }
      first = false;
      i++; // closing quote
    }
    if (i >= end || buf[i] !== RBRACKET) return -1;
    if (sd === null) sdOut[o++] = 0x7d; // }
    i++;
  }
  if (sd !== null) h.structuredData = sd;
  else {
    sdRoom(o, 1);
    sdOut[o++] = 0x7d; // }
    c.sdJson = (sdOut as unknown as FastSlices).latin1Slice(0, o);
  }
  return i;
}

/** The structured data at `start` scanned again as objects (text JSON would not give back the same). */
function sdAsObjects(c: Cursor, start: number, h: SyslogHeader): number {
  c.sdAsJson = false;
  try {
    return scanStructuredData(c, start, h);
  } finally {
    c.sdAsJson = true;
  }
}

/**
 * An ASCII PARAM-VALUE `[start, end)` as a JSON string at `o` of sdOut (room reserved): its escapes
 * `\"`, `\\`, `\]` stand for the character, other backslashes stay — as paramValue reads it.
 */
function sdJsonValue(buf: Buffer, start: number, end: number, o: number): number {
  const out = sdOut;
  out[o++] = QUOTE;
  for (let i = start; i < end; i++) {
    let b = buf[i]!;
    if (b === BACKSLASH && i + 1 < end) {
      const n = buf[i + 1]!;
      if (n === QUOTE || n === BACKSLASH || n === RBRACKET) {
        b = n;
        i++;
      }
    }
    o = writeJsonAscii(out, o, b);
  }
  out[o++] = QUOTE;
  return o;
}

/**
 * RFC 5424 after PRI (`p` at VERSION). Returns the error, or null; on success h.msgOffset is set.
 * `fallback` is set when the header fails at TIMESTAMP (auto mode then tries RFC 3164).
 */
function parse5424(
  c: Cursor,
  p: number,
  h: SyslogHeader,
  auto: boolean,
): ParseErrorReason | null | 'fallback' {
  const buf = c.buf;
  const end = c.end;
  // VERSION was checked by the caller: `1 `
  let i = p + 2;
  const tsStart = i;
  if (i >= end) return fail(h, end, 'truncated_header');
  if (buf[i] === DASH && (i + 1 === end || buf[i + 1] === SP)) {
    i++;
  } else if (scan3339(c, i, false) && (c.tsEnd === end || buf[c.tsEnd] === SP)) {
    h.timestamp = c.ts;
    i = c.tsEnd;
  } else {
    if (auto) return 'fallback';
    return fail(h, tsStart, 'invalid_timestamp');
  }
  if (i >= end) return fail(h, end, 'truncated_header');
  i++;
  let e = field5424(buf, i, end, 255);
  if (e < 0) return fail(h, i, i >= end ? 'truncated_header' : 'invalid_hostname');
  h.hostname = nilOrToken(buf, i, e);
  i = e + 1;
  e = field5424(buf, i, end, 48);
  if (e < 0) return fail(h, i, i >= end ? 'truncated_header' : 'invalid_app_name');
  h.appName = nilOrToken(buf, i, e);
  i = e + 1;
  e = field5424(buf, i, end, 128);
  if (e < 0) return fail(h, i, i >= end ? 'truncated_header' : 'invalid_proc_id');
  h.procId = nilOrToken(buf, i, e);
  i = e + 1;
  e = field5424(buf, i, end, 32);
  if (e < 0) return fail(h, i, i >= end ? 'truncated_header' : 'invalid_msg_id');
  h.msgId = nilOrToken(buf, i, e);
  i = e + 1;
  if (i >= end) return fail(h, Math.min(i, end), 'truncated_header');
  if (buf[i] === DASH) {
    i++;
    if (i < end && buf[i] !== SP) return fail(h, i - 1, 'invalid_structured_data');
  } else if (buf[i] === LBRACKET) {
    const sdEnd = scanStructuredData(c, i, h);
    if (sdEnd < 0) return fail(h, i, 'invalid_structured_data');
    i = sdEnd;
  } else {
    return fail(h, i, 'invalid_structured_data');
  }
  if (i < end && buf[i] === SP) i++;
  h.msgOffset = skipBom(buf, i, end);
  return null;
}

function fail(h: SyslogHeader, at: number, reason: ParseErrorReason): ParseErrorReason {
  h.msgOffset = at;
  return reason;
}

// ---------------------------------------------------------------------------------------------- 3164

/** End of a HOSTNAME word at `i` (rsyslog's rule, plus IPv6 literals), or -1. */
function hostnameEnd(buf: Buffer, i: number, end: number): number {
  let j = i;
  let colons = 0;
  let plain = true;
  let hexish = true;
  while (j < end) {
    const b = buf[j]!;
    if (b === SP) break;
    if (b === COLON) {
      colons++;
      plain = false;
    } else if (!(isAlnum(b) || b === 0x2e || b === 0x5f || b === DASH)) {
      return -1;
    } else if (!(isDigit(b) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) || b === 0x2e)) {
      hexish = false;
    }
    j++;
    if (j - i > 255) return -1;
  }
  if (j === i) return -1;
  const last = buf[j - 1]!;
  if (plain) return isAlnum(last) ? j : -1;
  // IPv6 literal: hex digits, colons and dots, at least two colons
  if (hexish && colons >= 2 && (last !== COLON || buf[j - 2] === COLON)) return j;
  return -1;
}

interface TagScan {
  /** end of the tag name (before `[` or `:`) */
  nameEnd: number;
  pidStart: number;
  pidEnd: number;
  /** where MSG starts */
  msgStart: number;
}

const tagScan: TagScan = { nameEnd: 0, pidStart: -1, pidEnd: -1, msgStart: 0 };

function isTagStart(b: number): boolean {
  return isAlnum(b) || b === 0x5f || b === 0x2f || b === 0x2e;
}

/** A TAG at `i` (`name[pid]:`, `name:`, `name[pid] `). Fills tagScan and returns true when found. */
function scanTag(buf: Buffer, i: number, end: number): boolean {
  if (i >= end || !isTagStart(buf[i]!)) return false;
  let j = i;
  let bracket = -1;
  let letter = false;
  while (j < end) {
    const b = buf[j]!;
    if (b === COLON || b === SP) break;
    if (b === LBRACKET && bracket < 0) bracket = j;
    else if (bracket < 0 && (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) letter = true;
    j++;
    if (j - i > 128) return false;
  }
  const term = j < end ? buf[j]! : -1;
  // `10:22:33 …`, `http://…`, `CEF:0|…` are not tags: a colon ends a tag before a space (or after `[pid]`)
  if (!letter) return false;
  if (term === COLON && j + 1 < end && buf[j + 1] !== SP && buf[j - 1] !== RBRACKET) return false;
  let nameEnd = j;
  let pidStart = -1;
  let pidEnd = -1;
  if (bracket > i && buf[j - 1] === RBRACKET) {
    nameEnd = bracket;
    pidStart = bracket + 1;
    pidEnd = j - 1;
  } else if (term !== COLON) {
    return false;
  }
  if (nameEnd === i) return false;
  let m = j;
  if (term === COLON) m++;
  if (m < end && buf[m] === SP) m++;
  tagScan.nameEnd = nameEnd;
  tagScan.pidStart = pidStart;
  tagScan.pidEnd = pidEnd;
  tagScan.msgStart = m;
  return true;
}

function applyTag(buf: Buffer, i: number, h: SyslogHeader): number {
  h.appName = tokenString(buf, i, tagScan.nameEnd);
  h.procId =
    tagScan.pidStart >= 0 && tagScan.pidEnd > tagScan.pidStart
      ? tokenString(buf, tagScan.pidStart, tagScan.pidEnd)
      : null;
  return tagScan.msgStart;
}

/** RFC 3164 from `p` (after PRI, or 0). Returns the error, or null; h.msgOffset is set. */
function parse3164(c: Cursor, p: number, h: SyslogHeader, hadPri: boolean): ParseErrorReason | null {
  const buf = c.buf;
  const end = c.end;
  let i = p;
  let hadTs = false;
  // Cisco IOS: `<189>123: *Jan 18 …` — a sequence number and a clock-state mark before the timestamp
  let t = i;
  if (t < end && isDigit(buf[t]!)) {
    let k = t;
    while (k < end && k - t < 12 && isDigit(buf[k]!)) k++;
    if (k + 1 < end && buf[k] === COLON && buf[k + 1] === SP) t = k + 2;
  }
  // Cisco NX-OS: `<189>: 2024 Jan 18 …`
  else if (t + 1 < end && buf[t] === COLON && buf[t + 1] === SP) t += 2;
  if (t < end && (buf[t] === 0x2a || buf[t] === 0x2e)) t++;
  const cisco = t !== i;
  if (t < end && isDigit(buf[t]!) && scan3339(c, t, true) && (c.tsEnd === end || buf[c.tsEnd] === SP)) {
    hadTs = true;
  } else if (scan3164(c, t, cisco) || (buf[t] === SP && scan3164(c, t + 1, cisco))) {
    hadTs = true;
  }
  if (hadTs) {
    h.timestamp = c.ts;
    i = c.tsEnd;
    if (i < end) i++; // the space after the timestamp
  } else if (!hadPri) {
    h.msgOffset = 0;
    return 'no_header';
  }
  // HOSTNAME
  const hEnd = hostnameEnd(buf, i, end);
  if (hEnd > 0) {
    const next = hEnd < end ? hEnd + 1 : hEnd;
    if (hadTs || scanTag(buf, next, end)) {
      h.hostname = tokenString(buf, i, hEnd);
      i = next;
    }
  }
  // Cisco ASA with a device id: `fw01 : %ASA-6-…` — an empty TAG
  if (h.hostname !== null && i + 1 < end && buf[i] === COLON && buf[i + 1] === SP) i += 2;
  // TAG
  else if (scanTag(buf, i, end)) i = applyTag(buf, i, h);
  h.msgOffset = i;
  return null;
}

// ---------------------------------------------------------------------------------------------- API

let lastZone = 'UTC';
let lastClock = zoneClock('UTC');

function parseInto(buf: Buffer, options: ParseOptions, h: SyslogHeader): ParseErrorReason | null {
  const c = cur;
  c.buf = buf;
  c.end = buf.length;
  c.receivedAtMs = options.receivedAtMs;
  c.sdAsJson = options.structuredData === 'json';
  c.sdJson = null;
  const zone = options.defaultTimezone ?? 'UTC';
  if (zone !== lastZone) {
    lastClock = zoneClock(zone);
    lastZone = zone;
  }
  c.clock = lastClock;
  const format = options.format ?? 'auto';
  if (c.end === 0) {
    h.msgOffset = 0;
    return 'empty';
  }
  const p = scanPri(buf, c.end, h);
  if (p < 0) {
    h.msgOffset = 0;
    return 'invalid_pri';
  }
  if (format !== 'rfc3164' && p > 0 && p + 1 < c.end && buf[p] === 0x31 && buf[p + 1] === SP) {
    h.format = 'rfc5424';
    const r = parse5424(c, p, h, format === 'auto');
    if (r !== 'fallback') return r;
    // `<13>1 apples`: VERSION-like digit but no timestamp; read it as RFC 3164
    h.format = 'rfc3164';
    h.msgOffset = null;
  } else if (format === 'rfc5424') {
    h.msgOffset = 0;
    return 'not_rfc5424';
  }
  h.format = 'rfc3164';
  const r = parse3164(c, p, h, p > 0);
  if (r === 'no_header') h.format = 'unknown';
  return r;
}

function parseClamped(buf: Buffer, options: ParseOptions, h: SyslogHeader): ParseErrorReason | null {
  const r = parseInto(buf, options, h);
  if (h.msgOffset !== null && h.msgOffset > buf.length) h.msgOffset = buf.length;
  return r;
}

/** Parses the header only (no MSG decoding). */
export function parseSyslogHeader(buf: Buffer, options: ParseOptions): ParsedHeader {
  return parseSyslogHeaderInto(buf, options, newParsedHeader());
}

/** An empty result for parseSyslogHeaderInto. */
export function newParsedHeader(): ParsedHeader {
  return { header: newHeader('unknown'), parseError: null, structuredDataJson: null };
}

/**
 * parseSyslogHeader into `out`, whose header is overwritten: what the listeners use on the hot path, one
 * result per listener, so a parse allocates nothing of its own. `out` is valid until the next call.
 */
export function parseSyslogHeaderInto(buf: Buffer, options: ParseOptions, out: ParsedHeader): ParsedHeader {
  const h = out.header;
  h.format = 'unknown';
  h.facility = null;
  h.severity = null;
  h.timestamp = null;
  h.hostname = null;
  h.appName = null;
  h.procId = null;
  h.msgId = null;
  h.structuredData = null;
  h.msgOffset = null;
  out.parseError = parseClamped(buf, options, h);
  out.structuredDataJson = out.parseError === null ? cur.sdJson : null;
  return out;
}

/** Parses one syslog message. Never throws; see the module comment for what it accepts. */
export function parseSyslog(buf: Buffer, options: ParseOptions): ParsedSyslog {
  const header = newHeader('unknown');
  const parseError = parseClamped(buf, options, header);
  const off = header.msgOffset ?? 0;
  const fast = buf as unknown as FastSlices;
  let invalidUtf8 = false;
  let message: string;
  if (isAscii(buf)) {
    message = fast.latin1Slice(off, buf.length);
  } else {
    invalidUtf8 = !isUtf8(buf);
    message = fast.utf8Slice(off, buf.length);
  }
  let cef: CefRecord | null = null;
  let leef: LeefRecord | null = null;
  if (options.extensions !== false) {
    // one search for the `EF:` both share: most messages hold neither
    if (message.indexOf('EF:') > 0) {
      cef = findCef(message) >= 0 ? parseCef(message) : null;
      if (cef === null && findLeef(message) >= 0) leef = parseLeef(message);
    }
  }
  return { header, message, parseError, invalidUtf8, cef, leef };
}
