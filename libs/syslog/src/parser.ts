import { isAscii, isUtf8 } from 'node:buffer';
import type { SyslogHeader } from '@siem/core';
import { type CefRecord, findCef, parseCef } from './cef.js';
import { findLeef, type LeefRecord, parseLeef } from './leef.js';
import { type ParseScratch, scratch } from './parse-scratch.js';
import type {
  FastSlices,
  ParsedHeader,
  ParsedSyslog,
  ParseErrorReason,
  ParseOptions,
} from './parser-types.js';
import { parse3164 } from './rfc3164.js';
import { parse5424 } from './rfc5424.js';
import { zoneClock } from './timezone.js';

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
 *
 * Layout: this file is the door (PRI, format choice, the public functions); parser-timestamp.ts,
 * structured-data.ts, rfc5424.ts and rfc3164.ts hold the scanners; all state kept between calls is
 * the one ParseScratch of parse-scratch.ts.
 */

export {
  type ParsedHeader,
  type ParsedSyslog,
  type ParseErrorReason,
  type ParseOptions,
  parseErrorReasons,
  type SyslogFormat,
} from './parser-types.js';

// Byte constants of this module's own, as in each parser module: see parser-timestamp.ts.
const GT = 0x3e;
const LT = 0x3c;
const SP = 0x20;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
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

function parseInto(buf: Buffer, options: ParseOptions, h: SyslogHeader): ParseErrorReason | null {
  const c: ParseScratch = scratch;
  c.buf = buf;
  c.end = buf.length;
  c.receivedAtMs = options.receivedAtMs;
  c.sdAsJson = options.structuredData === 'json';
  c.sdJson = null;
  const zone = options.defaultTimezone ?? 'UTC';
  if (zone !== c.zone) {
    c.clock = zoneClock(zone); // throws for an unknown zone, before c.zone names it
    c.zone = zone;
  }
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
  out.structuredDataJson = out.parseError === null ? scratch.sdJson : null;
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
