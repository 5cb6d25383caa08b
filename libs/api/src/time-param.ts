/**
 * Time parameters (`from`, `to`, the time inside a cursor): read and checked here, completely, so that
 * a value PostgreSQL would refuse never reaches it. JavaScript's Date.parse is no judge of that: it
 * takes 2026-02-30 as 2 March, and the database then fails the query (a 503 with a stack, where the
 * client deserved a 400 naming the parameter).
 */

/** A time as PostgreSQL reads it exactly (UTC, microseconds kept) and in milliseconds for JavaScript. */
export interface ParsedTime {
  /** `2025-01-31T08:00:00Z` or `2025-01-31T08:00:00.123456Z`. */
  iso: string;
  ms: number;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
/** Epoch seconds (up to 11 digits: year 5138) or, from 12 digits on, milliseconds. */
const EPOCH = /^(\d{1,13})(?:\.(\d{1,9}))?$/;
const MS_DIGITS = 12;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Whole seconds since the epoch (in ms) plus microseconds → the canonical form; null out of range. */
function canonical(secondsMs: number, micros: number, withFraction: boolean): ParsedTime | null {
  const d = new Date(secondsMs);
  const year = d.getUTCFullYear();
  if (Number.isNaN(year) || year < 1 || year > 9999) return null;
  const iso = `${d.toISOString().slice(0, 19)}${withFraction ? `.${pad(micros, 6)}` : ''}Z`;
  return { iso, ms: secondsMs + Math.floor(micros / 1000) };
}

function fromEpoch(whole: string, fraction: string | undefined): ParsedTime | string {
  const digits = (fraction ?? '').padEnd(6, '0');
  let secondsMs: number;
  let micros: number;
  if (whole.length >= MS_DIGITS) {
    const ms = Number(whole);
    secondsMs = ms - (ms % 1000);
    micros = (ms % 1000) * 1000 + Number(digits.slice(0, 3));
  } else {
    secondsMs = Number(whole) * 1000;
    micros = Number(digits.slice(0, 6));
  }
  return canonical(secondsMs, micros, fraction !== undefined || micros !== 0) ?? 'is out of range';
}

/** Minutes east of UTC, or why the offset cannot be one. */
function offsetMinutes(zone: string): number | string {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 15 || minutes > 59) return `has no valid UTC offset (${zone}: hours 00–15, minutes 00–59)`;
  return sign * (hours * 60 + minutes);
}

/**
 * A time parameter: ISO 8601 with Z or an offset, a date alone (UTC midnight), epoch seconds or epoch
 * milliseconds (12 digits or more), each with an optional fraction. Returns the time, or why it is not
 * one (a calendar date that does not exist, an hour past 23, …), worded to follow the parameter's name.
 */
export function parseTime(text: string): ParsedTime | string {
  const e = EPOCH.exec(text);
  if (e !== null) return fromEpoch(e[1]!, e[2]);
  const m = ISO.exec(text);
  if (m === null) return 'must be ISO 8601 (2025-01-31T08:00:00Z), epoch seconds or epoch milliseconds';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `is not a valid date: month ${m[2]} does not exist`;
  if (day < 1 || day > daysIn(year, month))
    return `is not a valid date: day ${m[3]} does not exist in ${m[1]}-${m[2]}`;
  if (m[4] !== undefined && m[8] === undefined)
    return 'needs a time zone: end it with Z or an offset like +02:00';
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (hour > 23) return `is not a valid time: hour ${m[4]} does not exist (00–23)`;
  if (minute > 59) return `is not a valid time: minute ${m[5]} does not exist (00–59)`;
  if (second > 59) return `is not a valid time: second ${m[6]} does not exist (00–59)`;
  const offset = m[8] === undefined ? 0 : offsetMinutes(m[8]);
  if (typeof offset === 'string') return offset;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // setUTCFullYear, not Date.UTC: years 0–99 stay themselves
  d.setUTCHours(hour, minute, second, 0);
  const micros = m[7] === undefined ? 0 : Number(m[7].padEnd(6, '0').slice(0, 6));
  return (
    canonical(d.getTime() - offset * 60_000, micros, m[7] !== undefined) ?? 'is out of range (years 1–9999)'
  );
}
