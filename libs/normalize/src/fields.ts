import { isIP } from 'node:net';
import type { NormalizedEvent, RawEvent, SourceType } from '@siem/core';
import { SiemError } from '@siem/core';

/**
 * Small, allocation-light helpers shared by every normalizer: value coercion, IP and port checks
 * (the values go into `inet`/`integer` columns, so anything doubtful becomes null), and timestamp
 * canonicalisation.
 */

export function fail(reason: string, details?: Record<string, unknown>): never {
  throw new SiemError('SIEM_ERR_NORMALIZE', reason, { details: { reason, ...details } });
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): JsonObject | null {
  return isObject(v) ? v : null;
}

/** A non-empty trimmed string, or null. Numbers and booleans are stringified (vendors mix them). */
export function str(v: unknown): string | null {
  if (typeof v === 'string') {
    const t = v.trim();
    return t.length === 0 ? null : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return null;
}

/** Like str, but Windows-style placeholders ("-", "%%…" unresolved) count as absent. */
export function winStr(v: unknown): string | null {
  const s = str(v);
  return s === null || s === '-' ? null : s;
}

/** A user-visible name: "-" and "N/A" are placeholders, not names. */
export function nameStr(v: unknown): string | null {
  const s = str(v);
  if (s === null || s === '-' || s === 'N/A' || s === 'n/a') return null;
  return s;
}

/** An IP address fit for an `inet` column: IPv4-mapped IPv6 is unwrapped, zone ids are refused. */
export function ip(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  let s = v.trim();
  if (s.length < 2 || s.length > 45) return null;
  if (s.charCodeAt(0) === 91 /* [ */ && s.endsWith(']')) s = s.slice(1, -1);
  const kind = isIP(s);
  if (kind === 4) return s;
  if (kind === 6) {
    if (s.includes('%')) return null;
    const lower = s.toLowerCase();
    if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
    return lower;
  }
  return null;
}

/** A port 1–65535 (0 means "none" on every platform we read). */
export function port(v: unknown): number | null {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && v.length > 0 && v.length < 6 ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : null;
}

/** A process id from decimal or `0x` hex (Windows writes hex). */
export function pid(v: unknown): number | null {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s.length === 0 || s.length > 18) return null;
    n = s.startsWith('0x') || s.startsWith('0X') ? Number.parseInt(s.slice(2), 16) : Number(s);
  } else return null;
  return Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1 ? n : null;
}

export function int(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.length > 0 ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

// --- time -----------------------------------------------------------------------------------------

const ISO_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$/;
const SPACED_OFFSET_RE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2}):?(\d{2})$/;
const SLASH_RE = /^(\d{4})\/(\d{2})\/(\d{2})[ *T](\d{2}:\d{2}:\d{2})$/;

export interface ParsedTime {
  /** ISO 8601 with an offset, fraction at most microseconds (what PostgreSQL keeps). */
  iso: string;
  /** True when the source gave no offset and UTC was assumed. */
  assumedUtc: boolean;
}

function plausible(iso: string): boolean {
  const ms = Date.parse(iso);
  // Before 1990 or after 2200 is a broken clock or a wrong format, not an event time.
  return !Number.isNaN(ms) && ms > 631152000000 && ms < 7258118400000;
}

function fromEpoch(n: number): ParsedTime | null {
  let ms: number;
  if (n > 1e17)
    ms = n / 1e6; // nanoseconds (FortiGate eventtime)
  else if (n > 1e14)
    ms = n / 1e3; // microseconds
  else if (n > 1e11)
    ms = n; // milliseconds
  else ms = n * 1000; // seconds
  const d = new Date(Math.floor(ms));
  if (Number.isNaN(d.getTime())) return null;
  const iso = d.toISOString();
  return plausible(iso) ? { iso, assumedUtc: false } : null;
}

/**
 * Canonicalises the timestamp formats the sources use: ISO 8601 (with or without offset, `T` or
 * space, any fraction), Fluent Bit's `YYYY-MM-DD hh:mm:ss +hhmm`, PAN-OS `YYYY/MM/DD hh:mm:ss`, and
 * epoch seconds/ms/µs/ns. Zone-less values are read as UTC and flagged. Returns null when nothing fits.
 */
export function parseTime(v: unknown): ParsedTime | null {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? fromEpoch(v) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s.length < 8 || s.length > 40) return null;
  let m = ISO_RE.exec(s);
  if (m !== null) {
    const frac = m[3] === undefined ? '' : m[3].length > 7 ? m[3].slice(0, 7) : m[3];
    let zone = m[4];
    let assumedUtc = false;
    if (zone === undefined) {
      zone = 'Z';
      assumedUtc = true;
    } else if (zone === 'z') zone = 'Z';
    else if (zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const iso = `${m[1]}T${m[2]}${frac}${zone}`;
    return plausible(iso) ? { iso, assumedUtc } : null;
  }
  m = SPACED_OFFSET_RE.exec(s);
  if (m !== null) {
    const frac = m[3] === undefined ? '' : m[3].slice(0, 7);
    const iso = `${m[1]}T${m[2]}${frac}${m[4]}:${m[5]}`;
    return plausible(iso) ? { iso, assumedUtc: false } : null;
  }
  m = SLASH_RE.exec(s);
  if (m !== null) {
    const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`;
    return plausible(iso) ? { iso, assumedUtc: true } : null;
  }
  if (/^\d{9,19}$/.test(s)) return fromEpoch(Number(s));
  return null;
}

// --- building a row -------------------------------------------------------------------------------

/** PostgreSQL text and jsonb refuse NUL; everything else is kept as it came. */
export function pgText(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/** A row with every field at its "unknown" value; the normalizers fill what the source gives. */
export function emptyEvent(
  raw: RawEvent,
  sourceType: SourceType,
  eventId: string,
  rawText: string,
): NormalizedEvent {
  return {
    time: raw.receivedAt,
    receivedAt: raw.receivedAt,
    tenantId: raw.tenant,
    eventId,
    sourceType,
    hostName: null,
    hostIp: null,
    appName: null,
    severity: 6,
    category: 'other',
    action: null,
    outcome: 'unknown',
    userName: null,
    srcIp: null,
    srcPort: null,
    dstIp: null,
    dstPort: null,
    processName: null,
    processPid: null,
    eventCode: null,
    message: null,
    attrs: {},
    raw: pgText(rawText),
    classUid: null,
  };
}

/** Sets `time` from the first candidate that parses; notes an assumed zone in attrs. */
export function setTime(ev: NormalizedEvent, ...candidates: unknown[]): void {
  for (const c of candidates) {
    if (c === undefined || c === null) continue;
    const t = parseTime(c);
    if (t !== null) {
      ev.time = t.iso;
      if (t.assumedUtc) ev.attrs.time_zone_assumed = 'UTC';
      return;
    }
  }
}

/** The peer address of the raw event, unwrapped, when it is a usable IP. */
export function peerIp(raw: RawEvent): string | null {
  return ip(raw.source.peerAddress);
}

/** Copies the entries of `from` whose values are not empty placeholders. */
export function compact(from: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k in from) {
    const v = from[k];
    if (v === undefined || v === null || v === '' || v === '-') continue;
    out[k] = v;
  }
  return out;
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(`${what} payload is not valid JSON`, { error: (err as Error).message });
  }
}
