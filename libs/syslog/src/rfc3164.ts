import type { SyslogHeader } from '@siem/core';
import type { ParseScratch } from './parse-scratch.js';
import { scan3164, scan3339 } from './parser-timestamp.js';
import type { ParseErrorReason } from './parser-types.js';
import { tokenString } from './token-cache.js';

/**
 * RFC 3164 headers as devices really send them: `[TIMESTAMP SP] [HOSTNAME SP] [TAG] MSG`, with the
 * Cisco variants (a sequence number, a clock-state mark, the NX-OS `: ` marker) before the timestamp.
 * What each part may look like is in parser.ts's module comment.
 */

// Byte constants of this module's own, not imported, so V8 folds them: see parser-timestamp.ts.
const COLON = 0x3a;
const DASH = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const SP = 0x20;

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

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

function isTagStart(b: number): boolean {
  return isAlnum(b) || b === 0x5f || b === 0x2f || b === 0x2e;
}

/** A TAG at `i` (`name[pid]:`, `name:`, `name[pid] `). Fills c.tag* and returns true when found. */
function scanTag(c: ParseScratch, buf: Buffer, i: number, end: number): boolean {
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
  c.tagNameEnd = nameEnd;
  c.tagPidStart = pidStart;
  c.tagPidEnd = pidEnd;
  c.tagMsgStart = m;
  return true;
}

/** The TAG scanTag found at `i` into APP-NAME and PROCID; returns where MSG starts. */
function applyTag(c: ParseScratch, buf: Buffer, i: number, h: SyslogHeader): number {
  h.appName = tokenString(buf, i, c.tagNameEnd);
  h.procId =
    c.tagPidStart >= 0 && c.tagPidEnd > c.tagPidStart ? tokenString(buf, c.tagPidStart, c.tagPidEnd) : null;
  return c.tagMsgStart;
}

/** RFC 3164 from `p` (after PRI, or 0). Returns the error, or null; h.msgOffset is set. */
export function parse3164(
  c: ParseScratch,
  p: number,
  h: SyslogHeader,
  hadPri: boolean,
): ParseErrorReason | null {
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
    if (hadTs || scanTag(c, buf, next, end)) {
      h.hostname = tokenString(buf, i, hEnd);
      i = next;
    }
  }
  // Cisco ASA with a device id: `fw01 : %ASA-6-…` — an empty TAG
  if (h.hostname !== null && i + 1 < end && buf[i] === COLON && buf[i + 1] === SP) i += 2;
  // TAG
  else if (scanTag(c, buf, i, end)) i = applyTag(c, buf, i, h);
  h.msgOffset = i;
  return null;
}
