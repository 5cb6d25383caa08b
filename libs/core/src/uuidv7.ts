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

// The id is written as ASCII hex into one scratch buffer and read out as a single latin1 string:
// one allocation, instead of twenty concatenated pieces.
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');
const scratch = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1');
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]; // where each byte's 2 hex digits go

function putByte(index: number, value: number): void {
  const at = DIGIT_AT[index]!;
  scratch[at] = HEX_CODES[value >>> 4]!;
  scratch[at + 1] = HEX_CODES[value & 0x0f]!;
}

export function uuidv7(nowMs: number = Date.now()): string {
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
  putByte(0, (hi >>> 16) & 0xff);
  putByte(1, (hi >>> 8) & 0xff);
  putByte(2, hi & 0xff);
  putByte(3, (lo >>> 16) & 0xff);
  putByte(4, (lo >>> 8) & 0xff);
  putByte(5, lo & 0xff);
  putByte(6, 0x70 | (counter >>> 8));
  putByte(7, counter & 0xff);
  putByte(8, 0x80 | (pool[r]! & 0x3f));
  for (let i = 1; i < 8; i++) putByte(8 + i, pool[r + i]!);
  return scratch.toString('latin1', 0, 36);
}

/** The millisecond timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
