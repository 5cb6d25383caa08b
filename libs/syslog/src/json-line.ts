import { isUtf8 } from 'node:buffer';
import { writeJsonAscii } from '@siem/core';
import { type CefRecord, findCef, parseCef } from './cef.js';
import { findLeef, type LeefRecord, parseLeef } from './leef.js';
import {
  newParsedHeader,
  type ParsedHeader,
  type ParsedSyslog,
  type ParseOptions,
  parseSyslogHeaderInto,
  type SyslogFormat,
} from './parser.js';

/**
 * Syslog lines as JSON lines (`siem parse`): one object per line with, in this order, facility,
 * severity, timestamp, hostname, appName, procId, msgId, structuredData, message, parseError (null
 * where absent), then cef / leef only when the message holds one, then `"truncated":true` and
 * `originalBytes` only when the line was cut.
 *
 * It takes the listener's path: the header is parsed into one reused result with the structured data
 * already written as JSON text, and the message is escaped byte by byte from the line into the output
 * (valid UTF-8 is copied as it is), so no object is built and no string is made of the message unless
 * it holds a CEF/LEEF payload or is not well-formed UTF-8. The output is byte for byte what
 * JSON.stringify writes for parseSyslog's result in that key order, except inside structuredData,
 * which is the same once parsed (parameter names that look like array indexes keep their place, a
 * parameter named twice is written twice: JSON.parse keeps the last, as the parser does).
 */
export interface JsonLineOptions {
  format: SyslogFormat;
  defaultTimezone: string;
  /** Look for CEF/LEEF payloads in MSG (default true). */
  extensions?: boolean;
  /** Size of the output slabs the lines are written into (default 1 MiB). */
  slabBytes?: number;
}

/**
 * The object of one line, keys in the contract's order (`cutFromBytes`: the size of a line that was
 * cut): the slow way to the same output, JSON.stringify of it being what SyslogJsonLines writes.
 */
export function syslogJsonObject(
  p: ParsedSyslog,
  cutFromBytes: number | null = null,
): Record<string, unknown> {
  const h = p.header;
  const out: Record<string, unknown> = {
    facility: h.facility,
    severity: h.severity,
    timestamp: h.timestamp,
    hostname: h.hostname,
    appName: h.appName,
    procId: h.procId,
    msgId: h.msgId,
    structuredData: h.structuredData,
    message: p.message,
    parseError: p.parseError,
  };
  if (p.cef !== null) out.cef = p.cef;
  if (p.leef !== null) out.leef = p.leef;
  if (cutFromBytes !== null) {
    out.truncated = true;
    out.originalBytes = cutFromBytes;
  }
  return out;
}

const ascii = (text: string) => Buffer.from(text, 'latin1');
const B_FACILITY = ascii('{"facility":');
const B_SEVERITY = ascii(',"severity":');
const B_TIMESTAMP = ascii(',"timestamp":');
const B_HOSTNAME = ascii(',"hostname":');
const B_APP_NAME = ascii(',"appName":');
const B_PROC_ID = ascii(',"procId":');
const B_MSG_ID = ascii(',"msgId":');
const B_STRUCTURED_DATA = ascii(',"structuredData":');
const B_MESSAGE = ascii(',"message":"');
const B_PARSE_ERROR = ascii(',"parseError":');
const B_CEF = ascii(',"cef":');
const B_LEEF = ascii(',"leef":');
const B_TRUNCATED = ascii(',"truncated":true,"originalBytes":');
const B_NULL = ascii('null');
/** Everything but the variable values, with room for two small numbers and the line end. */
const FIXED_BYTES = 256;

/** What a byte of MSG needs: copied as it is, escaped, a colon (where `EF:` ends), or not ASCII. */
const PLAIN = 0;
const ESCAPED = 1;
const COLON_BYTE = 2;
const HIGH = 3;
const MSG_BYTE = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) MSG_BYTE[b] = ESCAPED;
MSG_BYTE[0x22] = ESCAPED;
MSG_BYTE[0x5c] = ESCAPED;
MSG_BYTE[0x3a] = COLON_BYTE;
for (let b = 0x80; b < 0x100; b++) MSG_BYTE[b] = HIGH;

const QUOTE = 0x22;
const E = 0x45;
const F = 0x46;

function put(bytes: Uint8Array, dst: Uint8Array, at: number): number {
  const n = bytes.length;
  for (let i = 0; i < n; i++) dst[at + i] = bytes[i]!;
  return at + n;
}

/** A non-negative integer (or null); the header's numbers are small. */
function putNumber(n: number | null, dst: Uint8Array, at: number): number {
  if (n === null) return put(B_NULL, dst, at);
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let v = n;
  for (let i = digits - 1; i >= 0; i--) {
    dst[at + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return at + digits;
}

/** A JSON string (or null): ASCII escaped here, anything else written as JSON.stringify writes it. */
function putString(text: string | null, dst: Buffer, at: number): number {
  if (text === null) return put(B_NULL, dst, at);
  const start = at;
  dst[at++] = QUOTE;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return start + dst.write(JSON.stringify(text), start, 'utf8');
    if (MSG_BYTE[c] === ESCAPED) at = writeJsonAscii(dst, at, c);
    else dst[at++] = c;
  }
  dst[at++] = QUOTE;
  return at;
}

/** Worst-case bytes of a string written by putString: an escape is 6 bytes, a UTF-16 unit at most 3. */
const bound = (text: string | null) => (text === null ? 4 : 6 * text.length + 2);

interface FastSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * Writes the JSON lines of syslog lines into output slabs. `add` appends one line; `take` hands over
 * everything written so far. Nothing written is ever overwritten (a slab is carved, not reused), so a
 * taken chunk may be queued on a stream as it is.
 */
export class SyslogJsonLines {
  readonly #parse: ParseOptions;
  readonly #parsed: ParsedHeader = newParsedHeader();
  readonly #extensions: boolean;
  readonly #slabBytes: number;
  #buf: Buffer;
  #at = 0;
  /** Where the line being written starts in #buf (moved along with it when the slab is full). */
  #lineStart = 0;
  #ready: Buffer[] = [];
  #readyBytes = 0;

  constructor(options: JsonLineOptions) {
    this.#parse = {
      receivedAtMs: 0,
      defaultTimezone: options.defaultTimezone,
      format: options.format,
      extensions: false,
      structuredData: 'json',
    };
    this.#extensions = options.extensions !== false;
    this.#slabBytes = options.slabBytes ?? 1 << 20;
    this.#buf = Buffer.allocUnsafe(this.#slabBytes);
  }

  /** Bytes written and not taken yet. */
  get pendingBytes(): number {
    return this.#readyBytes + this.#at;
  }

  /** Everything written since the last call, in order (empty when nothing was). */
  take(): Buffer[] {
    const out = this.#ready;
    if (this.#at > 0) out.push(this.#buf.subarray(0, this.#at));
    this.#buf = this.#buf.subarray(this.#at);
    this.#at = 0;
    this.#lineStart = 0;
    this.#ready = [];
    this.#readyBytes = 0;
    return out;
  }

  /** Room for `need` more bytes after #at; the line being written moves to a new slab if it must. */
  #room(need: number): Buffer {
    if (this.#at + need <= this.#buf.length) return this.#buf;
    const old = this.#buf;
    if (this.#lineStart > 0) {
      this.#ready.push(old.subarray(0, this.#lineStart));
      this.#readyBytes += this.#lineStart;
    }
    const partial = this.#at - this.#lineStart;
    const next = Buffer.allocUnsafe(Math.max(this.#slabBytes, partial + need));
    old.copy(next, 0, this.#lineStart, this.#at);
    this.#buf = next;
    this.#at = partial;
    this.#lineStart = 0;
    return next;
  }

  /**
   * Appends the JSON line of one syslog line (without its line end). `originalBytes` larger than the
   * line marks it as cut from that size.
   */
  add(line: Buffer, receivedAtMs: number, originalBytes: number = line.length): void {
    this.#parse.receivedAtMs = receivedAtMs;
    const {
      header: h,
      parseError,
      structuredDataJson,
    } = parseSyslogHeaderInto(line, this.#parse, this.#parsed);
    const sd = structuredDataJson ?? (h.structuredData === null ? null : JSON.stringify(h.structuredData));
    const off = h.msgOffset ?? 0;
    const end = line.length;
    const need =
      FIXED_BYTES +
      bound(h.timestamp) +
      bound(h.hostname) +
      bound(h.appName) +
      bound(h.procId) +
      bound(h.msgId) +
      (sd === null ? 4 : 3 * sd.length) +
      6 * (end - off) +
      bound(parseError);
    this.#lineStart = this.#at;
    let d = this.#room(need);
    let at = put(B_FACILITY, d, this.#at);
    at = putNumber(h.facility, d, at);
    at = putNumber(h.severity, d, put(B_SEVERITY, d, at));
    at = putString(h.timestamp, d, put(B_TIMESTAMP, d, at));
    at = putString(h.hostname, d, put(B_HOSTNAME, d, at));
    at = putString(h.appName, d, put(B_APP_NAME, d, at));
    at = putString(h.procId, d, put(B_PROC_ID, d, at));
    at = putString(h.msgId, d, put(B_MSG_ID, d, at));
    at = put(B_STRUCTURED_DATA, d, at);
    if (sd === null) at = put(B_NULL, d, at);
    else at += d.write(sd, at, structuredDataJson !== null ? 'latin1' : 'utf8');
    at = put(B_MESSAGE, d, at);
    // MSG from its bytes: ASCII escaped, the rest copied; `EF:` (CEF and LEEF share it) noted on the way
    const msgAt = at;
    let high = false;
    let ef = -1;
    for (let i = off; i < end; i++) {
      const c = line[i]!;
      const k = MSG_BYTE[c]!;
      if (k === PLAIN) {
        d[at++] = c;
      } else if (k === ESCAPED) {
        at = writeJsonAscii(d, at, c);
      } else {
        if (k === HIGH) high = true;
        else if (ef < 0 && i >= off + 2 && line[i - 1] === F && line[i - 2] === E) ef = i - 2;
        d[at++] = c;
      }
    }
    let message: string | null = null;
    if (high && !isUtf8(line.subarray(off, end))) {
      // not well-formed: written as the decoded text, with U+FFFD for what is not UTF-8
      message = (line as unknown as FastSlices).utf8Slice(off, end);
      ef = message.indexOf('EF:');
      at = putString(message, d, msgAt - 1);
      ef = ef < 0 ? -1 : off + ef;
    } else {
      d[at++] = QUOTE;
    }
    at = putString(parseError, d, put(B_PARSE_ERROR, d, at));
    this.#at = at;
    // as parseSyslog: only a payload after the start of the message
    if (this.#extensions && ef > off) {
      message ??= !high
        ? (line as unknown as FastSlices).latin1Slice(off, end)
        : (line as unknown as FastSlices).utf8Slice(off, end);
      this.#extension(message);
    }
    d = this.#room(FIXED_BYTES);
    at = this.#at;
    if (originalBytes > end) at = putNumber(originalBytes, d, put(B_TRUNCATED, d, at));
    d[at++] = 0x7d; // }
    d[at++] = 0x0a;
    this.#at = at;
  }

  /** `,"cef":{…}` or `,"leef":{…}` when the message holds one. */
  #extension(message: string): void {
    const cef: CefRecord | null = findCef(message) >= 0 ? parseCef(message) : null;
    const leef: LeefRecord | null = cef === null && findLeef(message) >= 0 ? parseLeef(message) : null;
    if (cef === null && leef === null) return;
    const json = JSON.stringify(cef ?? leef);
    const d = this.#room(3 * json.length + 16);
    const at = put(cef !== null ? B_CEF : B_LEEF, d, this.#at);
    this.#at = at + d.write(json, at, 'utf8');
  }
}
