import type { SyslogHeader } from '@siem/core';
import type { ParseScratch } from './parse-scratch.js';
import { scan3339 } from './parser-timestamp.js';
import type { ParseErrorReason } from './parser-types.js';
import { scanStructuredData } from './structured-data.js';
import { tokenString } from './token-cache.js';

/**
 * RFC 5424 headers: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
 * STRUCTURED-DATA [SP MSG]`, each field checked against its length and character set, NILVALUE `-`
 * read as null.
 */

// Byte constants of this module's own, not imported, so V8 folds them: see parser-timestamp.ts.
const DASH = 0x2d;
const LBRACKET = 0x5b;
const SP = 0x20;

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

/** Past the BOM that may open MSG (RFC 5424 6.4: it marks MSG as UTF-8 and is not part of it). */
function skipBom(buf: Buffer, i: number, end: number): number {
  return i + 2 < end && buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf ? i + 3 : i;
}

/**
 * RFC 5424 after PRI (`p` at VERSION). Returns the error, or null; on success h.msgOffset is set.
 * `fallback` is set when the header fails at TIMESTAMP (auto mode then tries RFC 3164).
 */
export function parse5424(
  c: ParseScratch,
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
