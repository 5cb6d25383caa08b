import { SiemError } from './errors.js';
import { uuidv7, writeUuidv7 } from './uuidv7.js';

/**
 * The raw event: what the gateway puts on `siem.raw`, one Kafka record per event, and what the buffer
 * carries between the adapters and the producer. The wire form (documented, with its versioning rules,
 * in libs/core/README.md), version 2: one line of JSON with the envelope, a line feed, then the original
 * payload byte for byte. Readers still accept version 1, where the payload was a JSON string field.
 */
export const RAW_EVENT_VERSION = 2;

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
  /**
   * The structured data as JSON text, when the parser wrote it so (it then left
   * syslog.structuredData null): written as it is.
   */
  structuredDataJson?: string | null;
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

/*
 * JSON string escapes of ASCII characters: 0 copies the character, otherwise the character after the
 * backslash (`u` for the \u00XX form): exactly what JSON.stringify writes.
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

/** Writes ASCII character `c` into `dst` at `at` as it stands inside a JSON string; returns the end. */
export function writeJsonAscii(dst: Uint8Array, at: number, c: number): number {
  const e = ESCAPE[c]!;
  if (e === 0) {
    dst[at] = c;
    return at + 1;
  }
  return putEscape(dst, at, c, e);
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

// The envelope's variable parts are written after one template copy; these are the keys between them.
const ascii = (text: string) => Buffer.from(text, 'latin1');
const B_NULL = ascii('null');
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

/*
 * Writers into `dst` at `at`, returning the end; callers have reserved room for the worst case. They
 * take the slab as an argument (not the module variable) so that, inlined into encode, the compiler
 * keeps it in a register across the whole record.
 */
function put(bytes: Uint8Array, dst: Uint8Array, at: number): number {
  const n = bytes.length;
  for (let i = 0; i < n; i++) dst[at + i] = bytes[i]!;
  return at + n;
}

/** Text known to be ASCII without anything to escape: JSON of enum arrays. */
function putAscii(text: string, dst: Uint8Array, at: number): number {
  const n = text.length;
  for (let i = 0; i < n; i++) dst[at + i] = text.charCodeAt(i);
  return at + n;
}

/** A JSON number (or null); the common small non-negative integers digit by digit, without a string. */
function putNumber(n: number | null, dst: Uint8Array, at: number): number {
  if (n === null || !Number.isFinite(n)) return put(B_NULL, dst, at);
  if (n >= 0 && n < 0x7fffffff && (n | 0) === n) {
    let digits = 1;
    for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
    let v = n;
    for (let i = digits - 1; i >= 0; i--) {
      dst[at + i] = 0x30 + (v % 10);
      v = (v / 10) | 0;
    }
    return at + digits;
  }
  return putAscii(String(n), dst, at);
}

/** A JSON string: ASCII is escaped here char by char, anything else goes through JSON.stringify. */
function putString(text: string, dst: Buffer, at: number): number {
  const start = at;
  dst[at++] = 0x22;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return start + dst.write(JSON.stringify(text), start, 'utf8');
    const e = ESCAPE[c]!;
    if (e === 0) {
      dst[at++] = c;
      continue;
    }
    at = putEscape(dst, at, c, e);
  }
  dst[at++] = 0x22;
  return at;
}

/** `,"key":"value"` when the value is there; nothing for null (readers take a missing field as null). */
function putField(key: Uint8Array, text: string | null, dst: Buffer, at: number): number {
  return text === null ? at : putString(text, dst, put(key, dst, at));
}

const len = (text: string | null) => (text === null ? 0 : text.length);

const FORMATS = ['rfc5424', 'rfc3164', 'unknown'] as const;
const NO_HEADER = FORMATS.length; // the template index of events without a syslog header
const ID_LENGTH = 36;
const ISO_LENGTH = 24; // toISOString() of years 0–9999
const ID_ISO_GAP = ISO_LENGTH + '","id":"'.length; // from the receive time to the id in a template

/** The envelope of version 2, as an object in key order: what the encoder writes (tests compare). */
export function rawEventHeader(event: Omit<RawEvent, 'version' | 'payload'>, payloadLength: number) {
  const h = event.syslog;
  const source = JSON.parse(sourceJson(event.source)) as Record<string, unknown>;
  const syslog =
    h === null
      ? null
      : {
          format: h.format,
          facility: h.facility,
          severity: h.severity,
          ...(h.timestamp === null ? {} : { timestamp: h.timestamp }),
          ...(h.hostname === null ? {} : { hostname: h.hostname }),
          ...(h.appName === null ? {} : { app_name: h.appName }),
          ...(h.procId === null ? {} : { proc_id: h.procId }),
          ...(h.msgId === null ? {} : { msg_id: h.msgId }),
          ...(h.structuredData === null ? {} : { structured_data: h.structuredData }),
          ...(h.msgOffset === null ? {} : { msg_offset: h.msgOffset }),
        };
  return {
    v: RAW_EVENT_VERSION,
    source_type: event.sourceType,
    tenant: event.tenant,
    source,
    received_at: event.receivedAt,
    id: event.id,
    syslog,
    ...(event.marks.length === 0 ? {} : { marks: event.marks }),
    ...(event.parseError === null ? {} : { parse_error: event.parseError }),
    ...(event.originalSize === payloadLength ? {} : { original_size: event.originalSize }),
  };
}

/**
 * Encodes raw events for one source (a connection, a socket, an HTTP request). Everything up to the
 * syslog facility — version, source type, tenant, source, receive time, a place for the id, the syslog
 * format — is one template per format, copied with one call; the receive time in it is rewritten when
 * the millisecond changes and the id is written as hex in place. The rest of the envelope is written
 * field by field (fields that are null or default are left out), then a line feed and the payload,
 * copied as it is: no string is built, nothing is escaped or decoded beyond the few header fields. The
 * envelope is byte for byte what JSON.stringify writes for rawEventHeader (tested).
 */
export class RawEventEncoder {
  readonly #source: SourceInfo;
  readonly #tenant: string;
  readonly #prefix: string;
  /** One template per syslog format (and one for no header), for the source type of #templateType. */
  readonly #templates: Array<Buffer | null> = [null, null, null, null];
  /** The receive time each template carries. */
  readonly #templateMs = [-1, -1, -1, -1];
  /** Where the id starts in each template. */
  readonly #idAt = [0, 0, 0, 0];
  #templateType = '';
  #lastMs = Number.NaN;
  #lastIso = '';

  constructor(source: SourceInfo, tenant: string) {
    this.#source = source;
    this.#tenant = tenant;
    this.#prefix = `,"tenant":${JSON.stringify(tenant)},"source":${sourceJson(source)}`;
  }

  /** The template of `index` (a format or NO_HEADER), stamped with the current receive time. */
  #template(index: number, sourceType: SourceType): Buffer {
    if (sourceType !== this.#templateType) {
      this.#templateType = sourceType;
      this.#templates.fill(null);
    }
    let t = this.#templates[index] ?? null;
    if (t === null) {
      const head = `{"v":${RAW_EVENT_VERSION},"source_type":"${sourceType}"${this.#prefix},"received_at":"${this.#lastIso}","id":"`;
      const syslog = index === NO_HEADER ? 'null' : `{"format":"${FORMATS[index]}","facility":`;
      t = Buffer.from(`${head}${'0'.repeat(ID_LENGTH)}","syslog":${syslog}`, 'utf8');
      this.#templates[index] = t;
      this.#idAt[index] = Buffer.byteLength(head, 'utf8');
    } else if (this.#templateMs[index] !== this.#lastMs) {
      t.write(this.#lastIso, this.#idAt[index]! - ID_ISO_GAP, 'latin1');
    }
    this.#templateMs[index] = this.#lastMs;
    return t;
  }

  encode(input: RawEventInput): Buffer {
    if (input.receivedAtMs !== this.#lastMs) {
      this.#lastMs = input.receivedAtMs;
      this.#lastIso = new Date(input.receivedAtMs).toISOString();
    }
    const payload = input.payload;
    const marks = input.marks === null || input.marks.length === 0 ? null : JSON.stringify(input.marks);
    const h = input.syslog;
    const sd =
      input.structuredDataJson ??
      (h === null || h.structuredData === null ? null : JSON.stringify(h.structuredData));
    const id = input.id;
    const variable =
      len(marks) +
      len(input.parseError) +
      (h === null
        ? 0
        : len(h.timestamp) + len(h.hostname) + len(h.appName) + len(h.procId) + len(h.msgId) + len(sd));
    const bound = 512 + this.#prefix.length * 3 + variable * 6 + payload.length;
    if (id !== undefined || this.#lastIso.length !== ISO_LENGTH || bound > SLAB_MAX_VALUE)
      return this.#slow(input, id ?? uuidv7(input.receivedAtMs));
    const index = h === null ? NO_HEADER : FORMATS.indexOf(h.format);
    const t = this.#template(index, input.sourceType);
    reserve(bound);
    const d = slab;
    const start = slabOffset;
    d.set(t, start);
    writeUuidv7(d, start + this.#idAt[index]!, input.receivedAtMs);
    let at = start + t.length;
    if (h !== null) {
      at = putNumber(h.facility, d, at);
      at = put(B_SEVERITY, d, at);
      at = putNumber(h.severity, d, at);
      at = putField(B_TIMESTAMP, h.timestamp, d, at);
      at = putField(B_HOSTNAME, h.hostname, d, at);
      at = putField(B_APP_NAME, h.appName, d, at);
      at = putField(B_PROC_ID, h.procId, d, at);
      at = putField(B_MSG_ID, h.msgId, d, at);
      if (sd !== null) {
        at = put(B_STRUCTURED_DATA, d, at);
        at += d.write(sd, at, 'utf8');
      }
      if (h.msgOffset !== null) at = putNumber(h.msgOffset, d, put(B_MSG_OFFSET, d, at));
      d[at++] = 0x7d;
    }
    if (marks !== null) at = putAscii(marks, d, put(B_MARKS, d, at));
    at = putField(B_PARSE_ERROR, input.parseError, d, at);
    if (input.originalSize !== payload.length)
      at = putNumber(input.originalSize, d, put(B_ORIGINAL_SIZE, d, at));
    d[at++] = 0x7d;
    d[at++] = 0x0a;
    d.set(payload, at);
    return take(at + payload.length);
  }

  /** The same record built from rawEventHeader: a given id (replays), far-off dates, large payloads. */
  #slow(input: RawEventInput, id: string): Buffer {
    const h = input.syslog;
    const sdJson = input.structuredDataJson ?? null;
    const header = rawEventHeader(
      {
        id,
        receivedAt: this.#lastIso,
        tenant: this.#tenant,
        sourceType: input.sourceType,
        source: this.#source,
        syslog: h === null || sdJson === null ? h : { ...h, structuredData: JSON.parse(sdJson) },
        marks: input.marks === null ? [] : [...input.marks],
        parseError: input.parseError,
        originalSize: input.originalSize,
      },
      input.payload.length,
    );
    const text = `${JSON.stringify(header)}\n`;
    const size = Buffer.byteLength(text, 'utf8') + input.payload.length;
    if (size > SLAB_MAX_VALUE) return Buffer.concat([Buffer.from(text, 'utf8'), input.payload]);
    reserve(size);
    const at = slabOffset + slab.write(text, slabOffset, 'utf8');
    slab.set(input.payload, at);
    return take(at + input.payload.length);
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    invalid('value is not JSON');
  }
}

/**
 * Parses and checks a raw-event record of any version up to RAW_EVENT_VERSION. Throws
 * SIEM_ERR_RAW_EVENT_INVALID with the reason.
 */
export function decodeRawEvent(value: Buffer | string): RawEvent {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  // Version 2: the envelope's line, then the payload. A version 1 record is JSON alone.
  const lf = bytes.indexOf(0x0a);
  let parsed: unknown;
  let payload: Buffer | null = null;
  if (lf >= 0) {
    try {
      parsed = JSON.parse(bytes.toString('utf8', 0, lf));
    } catch {
      parsed = undefined; // not an envelope line: JSON across lines (version 1), or not a record at all
    }
    const v = typeof parsed === 'object' && parsed !== null ? (parsed as { v?: unknown }).v : undefined;
    if (typeof v === 'number' && v >= 2) payload = bytes.subarray(lf + 1);
    else parsed = undefined;
  }
  if (payload === null) parsed = parseJson(bytes.toString('utf8'));
  const o = obj(parsed, 'record');
  const version = o.v;
  if (typeof version !== 'number') invalid('v must be a number');
  if (version > RAW_EVENT_VERSION || version < 1) invalid(`unsupported version ${version}`);
  if (payload === null && version !== 1) invalid(`version ${version} without its payload line`);
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
  if (payload === null) {
    const encoding = o.payload_encoding ?? 'utf8';
    const payloadText = strField(o, 'payload');
    if (encoding === 'utf8') payload = Buffer.from(payloadText, 'utf8');
    else if (encoding === 'base64') payload = Buffer.from(payloadText, 'base64');
    else invalid(`unknown payload_encoding ${String(encoding)}`);
  }
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
