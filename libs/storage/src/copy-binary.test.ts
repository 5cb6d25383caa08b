import { describe, expect, it } from 'vitest';
import { copyBinary, pgMicros } from './copy-binary.js';
import { COLUMN_COUNT, prepareRow } from './row-encoding.js';
import { sampleEvent } from './sample-events.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** Tuples of one binary COPY stream, each as its fields' byte lengths (-1 for NULL). */
function tuples(stream: Buffer): number[][] {
  expect(stream.subarray(0, 11)).toEqual(SIGNATURE);
  expect(stream.readInt32BE(11)).toBe(0);
  expect(stream.readInt32BE(15)).toBe(0);
  const out: number[][] = [];
  let at = 19;
  for (;;) {
    const n = stream.readInt16BE(at);
    at += 2;
    if (n === -1) break;
    const lengths: number[] = [];
    for (let i = 0; i < n; i++) {
      const len = stream.readInt32BE(at);
      lengths.push(len);
      at += 4 + Math.max(0, len);
    }
    out.push(lengths);
  }
  expect(at).toBe(stream.length); // nothing after the trailer
  return out;
}

describe('binary COPY of event rows', () => {
  const o = { seed: 7, fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 0, 2), count: 500 };
  const rows = Array.from({ length: o.count }, (_, i) => {
    const values = new Array<string | null>(COLUMN_COUNT);
    prepareRow(sampleEvent(o, i), values, {});
    return values;
  });

  it('splits rows into complete streams of about the asked size, none lost', () => {
    const streams = [...copyBinary(rows, 16 * 1024)];
    expect(streams.length).toBeGreaterThan(3);
    let total = 0;
    for (const s of streams) {
      const t = tuples(s);
      total += t.length;
      for (const lengths of t) {
        expect(lengths).toHaveLength(COLUMN_COUNT);
        expect(lengths[0]).toBe(8); // timestamptz
        expect(lengths[3]).toBe(16); // uuid
      }
      expect(s.length).toBeLessThan(16 * 1024 + 4096); // one row past the size at most
    }
    expect(total).toBe(rows.length);
    expect([...copyBinary([], 1024)]).toEqual([]);
  });

  it('counts time in microseconds since 2000-01-01 UTC, rounding the fraction as PostgreSQL does', () => {
    expect(pgMicros('2000-01-01T00:00:00Z')).toBe(0n);
    expect(pgMicros('2000-01-01T00:00:01.000001Z')).toBe(1_000_001n);
    expect(pgMicros('2000-01-01T00:00:00.0000015Z')).toBe(2n); // rint(1.5) = 2
    expect(pgMicros('2000-01-01T00:00:00.0000025Z')).toBe(2n); // rint(2.5) = 2
    expect(pgMicros('2000-01-01T02:30:00+02:30')).toBe(0n);
    expect(pgMicros('1999-12-31T23:59:59.9999999Z')).toBe(0n); // carries into the next second
    expect(pgMicros('1970-01-01T00:00:00Z')).toBe(-946_684_800_000_000n);
    expect(() => pgMicros('soon')).toThrow(/not a time/);
  });
});
