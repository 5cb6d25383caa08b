/**
 * Interns short header tokens (HOSTNAME, APP-NAME, MSGID, SD-IDs, PARAM-NAMEs, …). They repeat from
 * message to message, and making a string from Buffer bytes is a call into C++ that costs more than
 * hashing and comparing a few bytes in JavaScript. A direct-mapped table: a collision just replaces
 * the slot, so memory is fixed (SLOTS × MAX_LEN bytes plus the strings).
 */
const SLOTS = 4096;
const MAX_LEN = 32;
const lens = new Int32Array(SLOTS);
const bytes = new Uint8Array(SLOTS * MAX_LEN);
const values: string[] = new Array<string>(SLOTS).fill('');

interface FastSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

export const HASH_SEED = 0x811c9dc5 | 0;
export const HASH_PRIME = 0x01000193;

/** `buf[start, end)` as a string; bytes ≥ 0x80 are decoded as UTF-8. */
export function tokenString(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n > MAX_LEN) return slice(buf, start, end);
  let h = HASH_SEED;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    high |= b;
    h = Math.imul(h ^ b, HASH_PRIME);
  }
  return hashedToken(buf, start, end, h, high);
}

/**
 * Like tokenString, for a caller that hashed the bytes while scanning them: `h` is the running
 * `imul(h ^ byte, HASH_PRIME)` from HASH_SEED, `high` the OR of the bytes.
 */
export function hashedToken(buf: Buffer, start: number, end: number, h: number, high: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n > MAX_LEN)
    return high < 0x80 ? (buf as unknown as FastSlices).latin1Slice(start, end) : slice(buf, start, end);
  h ^= n;
  const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
  const base = slot * MAX_LEN;
  if (lens[slot] === n) {
    let i = 0;
    while (i < n && bytes[base + i] === buf[start + i]) i++;
    if (i === n) return values[slot]!;
  }
  const s = high < 0x80 ? (buf as unknown as FastSlices).latin1Slice(start, end) : slice(buf, start, end);
  for (let i = 0; i < n; i++) bytes[base + i] = buf[start + i]!;
  lens[slot] = n;
  values[slot] = s;
  return s;
}

function slice(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) return (buf as unknown as FastSlices).utf8Slice(start, end);
  }
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}
