import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter that keeps ids monotonic within one
 * millisecond of this process, then 62 random bits. Random bytes come from a pooled buffer so the hot
 * path makes one string and no other allocation.
 */
const POOL_SIZE = 8 * 1024;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;
let lastMs = -1;
let counter = 0;

function randomBytes8(): number {
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 8;
  return at;
}

// The id is written as ASCII hex straight into the caller's buffer (the raw-event encoder writes it into
// the record it is building) or into one scratch buffer read out as a single latin1 string.
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
const scratch = Buffer.alloc(36);

function putByte(dst: Uint8Array, at: number, value: number): number {
  dst[at] = HEX_CODES[value >>> 4]!;
  dst[at + 1] = HEX_CODES[value & 0x0f]!;
  return at + 2;
}

/** Writes a new UUIDv7 as its 36 ASCII characters into `dst` at `at`; returns the end. */
export function writeUuidv7(dst: Uint8Array, at: number, nowMs: number = Date.now()): number {
  let ms = Math.floor(nowMs);
  if (ms > lastMs) {
    lastMs = ms;
    counter = pool[randomBytes8()]! & 0x3f; // random start, headroom left for the counter
  } else {
    ms = lastMs; // clock went back or same millisecond: stay monotonic
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      ms = lastMs;
      counter = 0;
    }
  }
  const r = randomBytes8();
  const hi = Math.floor(ms / 0x1000000); // top 24 bits of 48
  const lo = ms % 0x1000000; // bottom 24 bits
  at = putByte(dst, at, (hi >>> 16) & 0xff);
  at = putByte(dst, at, (hi >>> 8) & 0xff);
  at = putByte(dst, at, hi & 0xff);
  at = putByte(dst, at, (lo >>> 16) & 0xff);
  dst[at++] = 0x2d;
  at = putByte(dst, at, (lo >>> 8) & 0xff);
  at = putByte(dst, at, lo & 0xff);
  dst[at++] = 0x2d;
  at = putByte(dst, at, 0x70 | (counter >>> 8));
  at = putByte(dst, at, counter & 0xff);
  dst[at++] = 0x2d;
  at = putByte(dst, at, 0x80 | (pool[r]! & 0x3f));
  at = putByte(dst, at, pool[r + 1]!);
  dst[at++] = 0x2d;
  for (let i = 2; i < 8; i++) at = putByte(dst, at, pool[r + i]!);
  return at;
}

export function uuidv7(nowMs: number = Date.now()): string {
  writeUuidv7(scratch, 0, nowMs);
  return scratch.toString('latin1', 0, 36);
}

/** The millisecond timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
