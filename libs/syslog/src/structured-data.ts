import { isAscii } from 'node:buffer';
import { type SyslogHeader, writeJsonAscii } from '@siem/core';
import { type ParseScratch, SD_IDS_MAX } from './parse-scratch.js';
import type { FastSlices } from './parser-types.js';
import { HASH_PRIME, HASH_SEED, hashedToken } from './token-cache.js';

/**
 * RFC 5424 STRUCTURED-DATA: as objects (null-prototype, header tokens interned) or, for the listeners,
 * written straight into JSON text. Both read one message's SD in one pass over its bytes.
 */

// Byte constants of this module's own, not imported, so V8 folds them: see parser-timestamp.ts.
const BACKSLASH = 0x5c;
const EQ = 0x3d;
const LBRACKET = 0x5b;
const QUOTE = 0x22;
const RBRACKET = 0x5d;
const SP = 0x20;

/** SD-NAME characters: printable US-ASCII except `=`, SP, `]` and `"` (RFC 5424 6.3.2). */
const SD_NAME = new Uint8Array(256);
for (let c = 33; c <= 126; c++) SD_NAME[c] = c === EQ || c === RBRACKET || c === QUOTE ? 0 : 1;

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
 * Structured data as JSON text (ParseOptions.structuredData 'json'): written into c.sdOut while the
 * bytes are scanned, so the gateway builds no SD objects and serialises none. The text is read out as
 * one string per message.
 */

/** c.sdOut with room for `need` more bytes at `at` (grown, keeping what is written, when short). */
function sdRoom(c: ParseScratch, at: number, need: number): Buffer {
  const out = c.sdOut;
  if (at + need <= out.length) return out;
  const grown = Buffer.allocUnsafe(Math.max(out.length * 2, at + need));
  out.copy(grown, 0, 0, at);
  c.sdOut = grown;
  return grown;
}

/** SD-NAME bytes `[start, end)` as a JSON string at `o` of `out` (room reserved): `\` is its only escape. */
function sdJsonName(out: Buffer, buf: Buffer, start: number, end: number, o: number): number {
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
function sdIdSeen(c: ParseScratch, buf: Buffer, start: number, end: number, count: number): boolean {
  const sdIdStart = c.sdIdStart;
  const sdIdEnd = c.sdIdEnd;
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
export function scanStructuredData(c: ParseScratch, i: number, h: SyslogHeader): number {
  const buf = c.buf;
  const end = c.end;
  const json = c.sdAsJson;
  // null-prototype objects: a wire key can never reach a prototype, and V8 keeps them as dictionaries,
  // which is faster than fast-mode objects past a dozen keys (Junos, NXLog send 20–30 params)
  const sd: Record<string, Record<string, string>> | null = json ? null : Object.create(null);
  const start = i;
  let o = 0;
  let elements = 0;
  // the JSON text is written here; sdRoom hands back a new buffer when it grows
  let out = c.sdOut;
  if (json) {
    out = sdRoom(c, 0, 1);
    out[o++] = 0x7b; // {
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
      if (elements === SD_IDS_MAX || sdIdSeen(c, buf, idStart, i, elements)) return sdAsObjects(c, start, h);
      c.sdIdStart[elements] = idStart;
      c.sdIdEnd[elements] = i;
      // `,"id":{` and, when the element has no params, its `}` (each param reserves for the `}` after it)
      out = sdRoom(c, o, 2 * (i - idStart) + 6);
      if (elements > 0) out[o++] = 0x2c; // ,
      o = sdJsonName(out, buf, idStart, i, o);
      out[o++] = 0x3a; // :
      out[o++] = 0x7b; // {
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
        // `,"name":"value"` at worst (`\` doubled, control characters as \u00XX), then the element's `}`
        out = sdRoom(c, o, 2 * (nameEnd - nameStart) + 6 * (i - valueStart) + 7);
        if (!first) out[o++] = 0x2c; // ,
        o = sdJsonName(out, buf, nameStart, nameEnd, o);
        out[o++] = 0x3a; // :
        o = sdJsonValue(out, buf, valueStart, i, o);
      }
      first = false;
      i++; // closing quote
    }
    if (i >= end || buf[i] !== RBRACKET) return -1;
    if (sd === null) out[o++] = 0x7d; // }
    i++;
  }
  if (sd !== null) h.structuredData = sd;
  else {
    out = sdRoom(c, o, 1);
    out[o++] = 0x7d; // }
    c.sdJson = (out as unknown as FastSlices).latin1Slice(0, o);
  }
  return i;
}

/** The structured data at `start` scanned again as objects (text JSON would not give back the same). */
function sdAsObjects(c: ParseScratch, start: number, h: SyslogHeader): number {
  c.sdAsJson = false;
  try {
    return scanStructuredData(c, start, h);
  } finally {
    c.sdAsJson = true;
  }
}

/**
 * An ASCII PARAM-VALUE `[start, end)` as a JSON string at `o` of `out` (room reserved): its escapes
 * `\"`, `\\`, `\]` stand for the character, other backslashes stay — as paramValue reads it.
 */
function sdJsonValue(out: Buffer, buf: Buffer, start: number, end: number, o: number): number {
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
