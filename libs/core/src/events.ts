import { isUtf8 } from 'node:buffer';
import { SiemError } from './errors.js';
import { uuidv7 } from './uuidv7.js';

/**
 * The raw event: what the gateway puts on `siem.raw`, one Kafka record per event, and what the buffer
 * carries between the adapters and the producer. The wire form is JSON (documented, with
 * its versioning rules, in libs/core/README.md); the original payload travels byte-for-byte — as a UTF-8 string when
 * the bytes are well-formed UTF-8, base64 otherwise.
 */
export const RAW_EVENT_VERSION = 1;

export const sourceTypes = ['syslog', 'windows', 'cloudtrail', 'azure_activity', 'gcp_logging'] as const;
export type SourceType = (typeof sourceTypes)[number];

export const transports = ['udp', 'tcp', 'tls', 'http', 'https', 'lumberjack', 'file', 'internal'] as const;
export type Transport = (typeof transports)[number];

export const rawEventMarks = ['truncated', 'invalid_utf8', 'parse_error'] as const;
export type RawEventMark = (typeof rawEventMarks)[number];

export interface TlsIdentity {
  /** Subject common name of the client certificate. */
  subjectCn: string | null;
  /** Subject alternative names as printed by Node (`DNS:a.example, IP Address:10.0.0.1`), split. */
  sans: string[];
  /** SHA-256 fingerprint, colon-separated upper-case hex, as Node prints it. */
  fingerprint256: string;
}

export interface SourceInfo {
  /** Registered adapter name (`syslog_tcp`, `windows_events`, …). */
  adapter: string;
  transport: Transport;
  peerAddress: string | null;
  peerPort: number | null;
  tls: TlsIdentity | null;
}

export interface SyslogHeader {
  format: 'rfc5424' | 'rfc3164' | 'unknown';
  facility: number | null;
  severity: number | null;
  /** ISO 8601 with the sender's own offset (or Z); never re-interpreted into another zone. */
  timestamp: string | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  structuredData: Record<string, Record<string, string>> | null;
  /** Byte offset of MSG inside the payload, so a consumer needs no second header parse. */
  msgOffset: number | null;
}

export interface RawEvent {
  version: number;
  id: string;
  receivedAt: string;
  tenant: string;
  sourceType: SourceType;
  source: SourceInfo;
  syslog: SyslogHeader | null;
  marks: RawEventMark[];
  parseError: string | null;
  /** Size of the payload as it arrived, before any truncation. */
  originalSize: number;
  payload: Buffer;
}

/** What an adapter knows about one event; the encoder adds id, tenant and source. */
export interface RawEventInput {
  receivedAtMs: number;
  sourceType: SourceType;
  syslog: SyslogHeader | null;
  marks: readonly RawEventMark[] | null;
  parseError: string | null;
  originalSize: number;
  payload: Buffer;
  /** An id to reuse (replays); a new UUIDv7 when absent. */
  id?: string;
  /** Whether the payload is well-formed UTF-8, when the caller has already checked (else checked here). */
  utf8?: boolean;
}

function sourceJson(source: SourceInfo): string {
  return JSON.stringify({
    adapter: source.adapter,
    transport: source.transport,
    peer_address: source.peerAddress,
    peer_port: source.peerPort,
    tls:
      source.tls === null
        ? null
        : {
            subject_cn: source.tls.subjectCn,
            sans: source.tls.sans,
            fingerprint256: source.tls.fingerprint256,
          },
  });
}

/** A JSON value for a string that may be null; short ASCII strings need no escaping pass. */
function str(v: string | null): string {
  return v === null ? 'null' : JSON.stringify(v);
}

function num(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'null' : String(n);
}

// Field by field rather than JSON.stringify of a fresh object: no per-event object, no key scan.
function syslogJson(h: SyslogHeader): string {
  return (
    `{"format":"${h.format}","facility":${num(h.facility)},"severity":${num(h.severity)},"timestamp":${str(h.timestamp)}` +
    `,"hostname":${str(h.hostname)},"app_name":${str(h.appName)},"proc_id":${str(h.procId)},"msg_id":${str(h.msgId)}` +
    `,"structured_data":${h.structuredData === null ? 'null' : JSON.stringify(h.structuredData)},"msg_offset":${num(h.msgOffset)}}`
  );
}

const NO_MARKS = '[]';

/*
 * Values are carved out of 1 MiB slabs, exactly sized. Buffer.from(string) reserves up to 3 bytes per
 * character of Node's 8 KiB pool and Buffer.allocUnsafe makes a new pool every ~9 events of this size:
 * both showed in the gateway's profile. A slab lives until the last value cut from it is released;
 * values leave the ring in arrival order, so slabs are released in order too.
 */
const SLAB_BYTES = 1 << 20;
const SLAB_MAX_VALUE = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(0);
let slabOffset = 0;

/** Makes room for a value of at most `bound` bytes at `slabOffset` (bound ≤ SLAB_MAX_VALUE). */
function reserve(bound: number): void {
  if (slabOffset + bound > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabOffset = 0;
  }
}

/** Cuts the value written at `slabOffset` up to `end` out of the slab. */
function take(end: number): Buffer {
  const out = slab.subarray(slabOffset, end);
  slabOffset = end;
  return out;
}

function fromJson(json: string): Buffer {
  const size = Buffer.byteLength(json, 'utf8');
  if (size > SLAB_MAX_VALUE) return Buffer.from(json, 'utf8');
  reserve(size);
  slab.write(json, slabOffset, 'utf8');
  return take(slabOffset + size);
}

/*
 * JSON string escapes by byte: 0 copies the byte, otherwise the character after the backslash (`u` for
 * the \u00XX form). Exactly what JSON.stringify writes for the same text, since well-formed UTF-8 has no
 * lone surrogates and multi-byte sequences never contain a byte below 0x80.
 */
const ESCAPE = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) ESCAPE[b] = 0x75;
ESCAPE[0x08] = 0x62; // \b
ESCAPE[0x09] = 0x74; // \t
ESCAPE[0x0a] = 0x6e; // \n
ESCAPE[0x0c] = 0x66; // \f
ESCAPE[0x0d] = 0x72; // \r
ESCAPE[0x22] = 0x22; // \"
ESCAPE[0x5c] = 0x5c; // \\
const HEX_LOWER = Buffer.from('0123456789abcdef', 'latin1');

/** Writes well-formed UTF-8 `src` as a JSON string into `dst` at `at`; returns the end. */
export function writeJsonString(src: Uint8Array, dst: Uint8Array, at: number): number {
  dst[at++] = 0x22;
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const b = src[i]!;
    const e = ESCAPE[b]!;
    if (e === 0) {
      dst[at++] = b;
      continue;
    }
    at = putEscape(dst, at, b, e);
  }
  dst[at++] = 0x22;
  return at;
}

/** The escape of character `c` (below 0x80), whose ESCAPE entry is `e`: `\n`, `\"`, `\u001b`, … */
function putEscape(dst: Uint8Array, at: number, c: number, e: number): number {
  dst[at++] = 0x5c;
  dst[at++] = e;
  if (e === 0x75) {
    dst[at++] = 0x30;
    dst[at++] = 0x30;
    dst[at++] = HEX_LOWER[c >>> 4]!;
    dst[at++] = HEX_LOWER[c & 0x0f]!;
  }
  return at;
}

// The envelope's fixed parts, as bytes (ASCII).
const ascii = (text: string) => Buffer.from(text, 'latin1');
const B_OPEN = ascii(`{"v":${RAW_EVENT_VERSION},"id":`);
const B_RECEIVED_AT = ascii(',"received_at":"');
const B_SOURCE_TYPE = ascii('","source_type":"');
const B_SYSLOG = ascii(',"syslog":');
const B_NULL = ascii('null');
const B_FORMAT = ascii('{"format":"');
const B_FACILITY = ascii('","facility":');
const B_SEVERITY = ascii(',"severity":');
const B_TIMESTAMP = ascii(',"timestamp":');
const B_HOSTNAME = ascii(',"hostname":');
const B_APP_NAME = ascii(',"app_name":');
const B_PROC_ID = ascii(',"proc_id":');
const B_MSG_ID = ascii(',"msg_id":');
const B_STRUCTURED_DATA = ascii(',"structured_data":');
const B_MSG_OFFSET = ascii(',"msg_offset":');
const B_MARKS = ascii(',"marks":');
const B_PARSE_ERROR = ascii(',"parse_error":');
const B_ORIGINAL_SIZE = ascii(',"original_size":');
const B_UTF8_PAYLOAD = ascii(',"payload_encoding":"utf8","payload":');

// Writers into the slab at `at`, returning the end. Callers have reserved room for the worst case.
function put(bytes: Uint8Array, at: number): number {
  const n = bytes.length;
  for (let i = 0; i < n; i++) slab[at + i] = bytes[i]!;
  return at + n;
}

/** Text known to be ASCII without anything to escape: ISO times, enum values, JSON of enum arrays. */
function putAscii(text: string, at: number): number {
  const n = text.length;
  for (let i = 0; i < n; i++) slab[at + i] = text.charCodeAt(i);
  return at + n;
}

function putNumber(n: number | null, at: number): number {
  return n === null || !Number.isFinite(n) ? put(B_NULL, at) : putAscii(String(n), at);
}

/** A JSON string (or null): ASCII is escaped here char by char, anything else goes through JSON.stringify. */
function putString(text: string | null, at: number): number {
  if (text === null) return put(B_NULL, at);
  const start = at;
  slab[at++] = 0x22;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return start + slab.write(JSON.stringify(text), start, 'utf8');
    const e = ESCAPE[c]!;
    if (e === 0) {
      slab[at++] = c;
      continue;
    }
    at = putEscape(slab, at, c, e);
  }
  slab[at++] = 0x22;
  return at;
}

const len = (text: string | null) => (text === null ? 0 : text.length);

/**
 * Encodes raw events for one source (a connection, a socket, an HTTP request). The parts that do not
 * change per event are serialised once; per event, the envelope is written field by field and the
 * payload — the bulk of the record — is escaped from its bytes, all straight into the slab: no string
 * is built and none is decoded (building one and encoding it to UTF-8 cost more than everything else
 * the encoder does, bench/results/core-encode.md). The result is byte for byte what JSON.stringify
 * writes for the same object (tested).
 */
export class RawEventEncoder {
  readonly #prefix: string;
  readonly #prefixBytes: Buffer;
  #lastMs = -1;
  #lastIso = '';

  constructor(source: SourceInfo, tenant: string) {
    this.#prefix = `,"tenant":${JSON.stringify(tenant)},"source":${sourceJson(source)}`;
    this.#prefixBytes = Buffer.from(this.#prefix, 'utf8');
  }

  encode(input: RawEventInput): Buffer {
    if (input.receivedAtMs !== this.#lastMs) {
      this.#lastMs = input.receivedAtMs;
      this.#lastIso = new Date(input.receivedAtMs).toISOString();
    }
    const payload = input.payload;
    const utf8 = input.utf8 ?? (payload.length === 0 || isUtf8(payload));
    const marks = input.marks === null || input.marks.length === 0 ? NO_MARKS : JSON.stringify(input.marks);
    const h = input.syslog;
    const sd = h === null || h.structuredData === null ? null : JSON.stringify(h.structuredData);
    const id = input.id ?? uuidv7(input.receivedAtMs);
    const variable =
      id.length +
      marks.length +
      len(input.parseError) +
      (h === null
        ? 0
        : len(h.timestamp) + len(h.hostname) + len(h.appName) + len(h.procId) + len(h.msgId) + len(sd));
    const bound = 512 + this.#prefixBytes.length + variable * 6 + payload.length * 6;
    if (!utf8 || bound > SLAB_MAX_VALUE) return fromJson(this.#json(input, id, marks, utf8));
    reserve(bound);
    let at = put(B_OPEN, slabOffset);
    at = putString(id, at);
    at = put(B_RECEIVED_AT, at);
    at = putAscii(this.#lastIso, at);
    at = put(B_SOURCE_TYPE, at);
    at = putAscii(input.sourceType, at);
    slab[at++] = 0x22;
    slab.set(this.#prefixBytes, at);
    at += this.#prefixBytes.length;
    at = put(B_SYSLOG, at);
    if (h === null) at = put(B_NULL, at);
    else {
      at = put(B_FORMAT, at);
      at = putAscii(h.format, at);
      at = put(B_FACILITY, at);
      at = putNumber(h.facility, at);
      at = put(B_SEVERITY, at);
      at = putNumber(h.severity, at);
      at = put(B_TIMESTAMP, at);
      at = putString(h.timestamp, at);
      at = put(B_HOSTNAME, at);
      at = putString(h.hostname, at);
      at = put(B_APP_NAME, at);
      at = putString(h.appName, at);
      at = put(B_PROC_ID, at);
      at = putString(h.procId, at);
      at = put(B_MSG_ID, at);
      at = putString(h.msgId, at);
      at = put(B_STRUCTURED_DATA, at);
      at = sd === null ? put(B_NULL, at) : at + slab.write(sd, at, 'utf8');
      at = put(B_MSG_OFFSET, at);
      at = putNumber(h.msgOffset, at);
      slab[at++] = 0x7d;
    }
    at = put(B_MARKS, at);
    at = putAscii(marks, at);
    at = put(B_PARSE_ERROR, at);
    at = putString(input.parseError, at);
    at = put(B_ORIGINAL_SIZE, at);
    at = putNumber(input.originalSize, at);
    at = put(B_UTF8_PAYLOAD, at);
    at = writeJsonString(payload, slab, at);
    slab[at++] = 0x7d;
    return take(at);
  }

  /** The same record built as a string: payloads that are not UTF-8 (base64) or too large for a slab. */
  #json(input: RawEventInput, id: string, marks: string, utf8: boolean): string {
    const payload = utf8
      ? JSON.stringify(input.payload.toString('utf8'))
      : `"${input.payload.toString('base64')}"`;
    return (
      `{"v":${RAW_EVENT_VERSION},"id":${JSON.stringify(id)},"received_at":"${this.#lastIso}"` +
      `,"source_type":"${input.sourceType}"${this.#prefix}` +
      `,"syslog":${input.syslog === null ? 'null' : syslogJson(input.syslog)}` +
      `,"marks":${marks},"parse_error":${str(input.parseError)}` +
      `,"original_size":${num(input.originalSize)},"payload_encoding":"${utf8 ? 'utf8' : 'base64'}","payload":${payload}}`
    );
  }
}

export function encodeRawEvent(event: Omit<RawEvent, 'version'>): Buffer {
  const encoder = new RawEventEncoder(event.source, event.tenant);
  return encoder.encode({
    id: event.id,
    receivedAtMs: Date.parse(event.receivedAt),
    sourceType: event.sourceType,
    syslog: event.syslog,
    marks: event.marks,
    parseError: event.parseError,
    originalSize: event.originalSize,
    payload: event.payload,
  });
}

function invalid(reason: string): never {
  throw new SiemError('SIEM_ERR_RAW_EVENT_INVALID', `not a raw event: ${reason}`, { details: { reason } });
}

function strField(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') invalid(`${key} must be a string`);
  return v;
}

function strOrNull(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') invalid(`${key} must be a string or null`);
  return v;
}

function numOrNull(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(`${key} must be a number or null`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** Parses and checks a raw-event record. Throws SIEM_ERR_RAW_EVENT_INVALID with the reason. */
export function decodeRawEvent(value: Buffer | string): RawEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    invalid('value is not JSON');
  }
  const o = obj(parsed, 'record');
  const version = o.v;
  if (typeof version !== 'number') invalid('v must be a number');
  if (version > RAW_EVENT_VERSION || version < 1) invalid(`unsupported version ${version}`);
  const sourceType = strField(o, 'source_type');
  if (!(sourceTypes as readonly string[]).includes(sourceType)) invalid(`unknown source_type ${sourceType}`);
  const s = obj(o.source, 'source');
  const transport = strField(s, 'transport');
  if (!(transports as readonly string[]).includes(transport)) invalid(`unknown transport ${transport}`);
  const tlsRaw = s.tls === null || s.tls === undefined ? null : obj(s.tls, 'source.tls');
  const source: SourceInfo = {
    adapter: strField(s, 'adapter'),
    transport: transport as Transport,
    peerAddress: strOrNull(s, 'peer_address'),
    peerPort: numOrNull(s, 'peer_port'),
    tls:
      tlsRaw === null
        ? null
        : {
            subjectCn: strOrNull(tlsRaw, 'subject_cn'),
            sans: Array.isArray(tlsRaw.sans) ? tlsRaw.sans.map(String) : [],
            fingerprint256: strField(tlsRaw, 'fingerprint256'),
          },
  };
  let syslog: SyslogHeader | null = null;
  if (o.syslog !== null && o.syslog !== undefined) {
    const h = obj(o.syslog, 'syslog');
    const format = strField(h, 'format');
    if (format !== 'rfc5424' && format !== 'rfc3164' && format !== 'unknown')
      invalid(`unknown syslog format ${format}`);
    const sd = h.structured_data;
    syslog = {
      format,
      facility: numOrNull(h, 'facility'),
      severity: numOrNull(h, 'severity'),
      timestamp: strOrNull(h, 'timestamp'),
      hostname: strOrNull(h, 'hostname'),
      appName: strOrNull(h, 'app_name'),
      procId: strOrNull(h, 'proc_id'),
      msgId: strOrNull(h, 'msg_id'),
      structuredData:
        sd === null || sd === undefined
          ? null
          : (obj(sd, 'syslog.structured_data') as Record<string, Record<string, string>>),
      msgOffset: numOrNull(h, 'msg_offset'),
    };
  }
  const marksRaw = o.marks ?? [];
  if (!Array.isArray(marksRaw)) invalid('marks must be an array');
  const marks = marksRaw.filter((m): m is RawEventMark => (rawEventMarks as readonly unknown[]).includes(m));
  const encoding = o.payload_encoding ?? 'utf8';
  const payloadText = strField(o, 'payload');
  let payload: Buffer;
  if (encoding === 'utf8') payload = Buffer.from(payloadText, 'utf8');
  else if (encoding === 'base64') payload = Buffer.from(payloadText, 'base64');
  else invalid(`unknown payload_encoding ${String(encoding)}`);
  const receivedAt = strField(o, 'received_at');
  if (Number.isNaN(Date.parse(receivedAt))) invalid('received_at is not a timestamp');
  return {
    version,
    id: strField(o, 'id'),
    receivedAt,
    tenant: strField(o, 'tenant'),
    sourceType: sourceType as SourceType,
    source,
    syslog,
    marks,
    parseError: strOrNull(o, 'parse_error'),
    originalSize: numOrNull(o, 'original_size') ?? payload.length,
    payload,
  };
}
