import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RangeSet } from './range-set.js';

describe('RangeSet', () => {
  it('agrees with a plain set for any sequence of added ranges', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(60), fc.nat(20)), { maxLength: 30 }), (adds) => {
        const set = new RangeSet();
        const model = new Set<number>();
        for (const [from, len] of adds) {
          const before = model.size;
          for (let i = from; i < from + len; i++) model.add(i);
          expect(set.add(from, from + len)).toBe(model.size - before);
        }
        expect(set.size).toBe(model.size);
        // Ranges stay sorted, disjoint and non-touching.
        const r = set.ranges;
        for (let i = 2; i < r.length; i += 2) expect(r[i]!).toBeGreaterThan(r[i - 1]!);
        const inModel = (a: number, b: number) =>
          Array.from({ length: b - a }, (_, k) => a + k).every((x) => model.has(x));
        expect(set.covers(10, 20)).toBe(inModel(10, 20));
        const gaps = set.gaps(0, 90);
        let gapCount = 0;
        for (let i = 0; i < gaps.length; i += 2) {
          for (let x = gaps[i]!; x < gaps[i + 1]!; x++) expect(model.has(x)).toBe(false);
          gapCount += gaps[i + 1]! - gaps[i]!;
        }
        expect(gapCount + set.countIn(0, 90)).toBe(90);
      }),
    );
  });

  it('removes ranges like a plain set', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(60), fc.nat(20)), { maxLength: 30 }), (ops) => {
        const set = new RangeSet();
        const model = new Set<number>();
        for (const [add, from, len] of ops) {
          for (let i = from; i < from + len; i++) add ? model.add(i) : model.delete(i);
          if (add) set.add(from, from + len);
          else set.remove(from, from + len);
        }
        expect(set.size).toBe(model.size);
        for (const x of model) expect(set.covers(x, x + 1)).toBe(true);
      }),
    );
  });

  it('round-trips through its flat form', () => {
    const set = new RangeSet([0, 3, 5, 9]);
    set.add(3, 5);
    expect(set.ranges).toEqual([0, 9]);
    expect(new RangeSet(set.ranges).covers(0, 9)).toBe(true);
  });
});
