import type { BufferRecord } from '@siem/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordRing } from './record-ring.js';

const rec = (i: number): BufferRecord => ({ key: `k${i % 3}`, value: Buffer.from(`v${i}`) });

describe('RecordRing', () => {
  it('is FIFO across wrap-around and growth, and tracks events and bytes', () => {
    const ring = new RecordRing(5000);
    const out: BufferRecord[] = [];
    let next = 0;
    let expected = 0;
    // Push more than the initial 1024 slots while popping, so the ring wraps and then grows.
    for (let round = 0; round < 50; round++) {
      const batch = Array.from({ length: 97 }, () => rec(next++));
      ring.push(batch);
      ring.shiftInto(out, 60);
    }
    ring.drainInto(out);
    expect(out.length).toBe(next);
    for (const r of out) expect(r.value.toString()).toBe(`v${expected++}`);
    expect(ring.size).toBe(0);
    expect(ring.bytes).toBe(0);
  });

  it('refuses to hold more than its capacity and releases popped references', () => {
    const ring = new RecordRing(3);
    ring.push([rec(1), rec(2)]);
    expect(() => ring.push([rec(3), rec(4)])).toThrow(/overflow/);
    expect(ring.size).toBe(2);
    expect(ring.bytes).toBe(2 + 2 + 2 + 2);
    expect(ring.free).toBe(1);
    const out: BufferRecord[] = [];
    expect(ring.shiftInto(out, 10)).toBe(2);
  });

  it('behaves like an array queue under any sequence of batch pushes and pops', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: -40, max: -1 })), {
          maxLength: 80,
        }),
        (ops) => {
          const ring = new RecordRing(100);
          const model: BufferRecord[] = [];
          let n = 0;
          for (const op of ops) {
            if (op >= 0) {
              const batch = Array.from({ length: op }, () => rec(n++));
              if (model.length + op > 100) {
                expect(() => ring.push(batch)).toThrow();
                continue;
              }
              ring.push(batch);
              model.push(...batch);
            } else {
              const out: BufferRecord[] = [];
              ring.shiftInto(out, -op);
              expect(out).toEqual(model.splice(0, -op));
            }
            expect(ring.size).toBe(model.length);
          }
        },
      ),
    );
  });
});
