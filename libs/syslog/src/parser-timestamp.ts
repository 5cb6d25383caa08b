import type { ParseScratch } from './parse-scratch.js';
import type { FastSlices } from './parser-types.js';

/**
 * Timestamp scanners: RFC 3339 (RFC 5424, and legacy headers that carry one) and RFC 3164 as devices
 * send it. Each returns whether it found one and leaves the canonical RFC 3339 text in `c.ts` and the
 * offset after it in `c.tsEnd`. A timestamp without an offset is read in `c.clock`'s zone; a year-less
 * one gets the year closest to the receive time.
 */

// Each parser module declares the byte constants and byte tests it uses rather than importing them:
// V8 folds a module's own constants into the machine code, but loads an imported binding at every use
// (a byte loop comparing against imported constants ran ~35% slower on Node 20).
const COLON = 0x3a;
const DASH = 0x2d;
const SP = 0x20;

function digits2(buf: Buffer, i: number): number {
  const a = buf[i]! - 0x30;
  const b = buf[i + 1]! - 0x30;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function ascii(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

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

/** The receive time in the local time of `c.clock`, with its year in c.receivedYear (cached: see ParseScratch). */
function receivedLocal(c: ParseScratch): number {
  if (c.receivedAtMs !== c.yearKeyMs || c.clock !== c.yearKeyClock) {
    c.yearKeyMs = c.receivedAtMs;
    c.yearKeyClock = c.clock;
    c.receivedLocalMs = c.receivedAtMs + c.clock.offsetAtInstant(c.receivedAtMs) * 60_000;
    c.receivedYear = new Date(c.receivedLocalMs).getUTCFullYear();
  }
  return c.receivedLocalMs;
}

/** The year (of three candidates) that puts month/day/time closest to the receive time. */
function closestYear(c: ParseScratch, mon: number, day: number, h: number, mi: number, s: number): number {
  const local = receivedLocal(c);
  const y0 = c.receivedYear;
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
export function scan3339(c: ParseScratch, i: number, lenient: boolean): boolean {
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
export function scan3164(c: ParseScratch, i: number, cisco: boolean): boolean {
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
    c.tsCache.set(key, ts);
  }
  c.ts = fracEnd > fracStart ? `${ts.slice(0, 19)}${ascii(buf, fracStart, fracEnd)}${ts.slice(19)}` : ts;
  c.tsEnd = j;
  return true;
}

/** A cached RFC 3164 timestamp, after dropping the cache when its zone or receive day changed. */
function cachedTimestamp(c: ParseScratch, key: number): string | undefined {
  const day = Math.floor(c.receivedAtMs / 86_400_000);
  if (c.clock !== c.tsCacheClock || day !== c.tsCacheDay || c.tsCache.size > 8192) {
    c.tsCache.clear();
    c.tsCacheClock = c.clock;
    c.tsCacheDay = day;
    return undefined;
  }
  return c.tsCache.get(key);
}
