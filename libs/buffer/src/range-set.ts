/**
 * A set of integers kept as sorted, disjoint, half-open ranges in one flat array `[a0, b0, a1, b1, …]`.
 * Used for the acknowledged event indexes of a frame: acks mostly arrive in order, so a frame's set is
 * one or two ranges.
 */
export class RangeSet {
  readonly #r: number[];

  constructor(flat: readonly number[] = []) {
    this.#r = [];
    for (let i = 0; i + 1 < flat.length; i += 2) this.add(flat[i]!, flat[i + 1]!);
  }

  get ranges(): readonly number[] {
    return this.#r;
  }

  get size(): number {
    let n = 0;
    for (let i = 0; i < this.#r.length; i += 2) n += this.#r[i + 1]! - this.#r[i]!;
    return n;
  }

  get isEmpty(): boolean {
    return this.#r.length === 0;
  }

  /** Adds `[from, to)`; returns how many integers were not in the set before. */
  add(from: number, to: number): number {
    if (to <= from) return 0;
    const r = this.#r;
    const before = this.size;
    // First range whose end reaches `from` (touching ranges merge).
    let i = 0;
    while (i < r.length && r[i + 1]! < from) i += 2;
    let j = i;
    let lo = from;
    let hi = to;
    while (j < r.length && r[j]! <= to) {
      lo = Math.min(lo, r[j]!);
      hi = Math.max(hi, r[j + 1]!);
      j += 2;
    }
    r.splice(i, j - i, lo, hi);
    return this.size - before;
  }

  /** Removes `[from, to)`. */
  remove(from: number, to: number): void {
    if (to <= from) return;
    const r = this.#r;
    const out: number[] = [];
    for (let i = 0; i < r.length; i += 2) {
      const a = r[i]!;
      const b = r[i + 1]!;
      if (b <= from || a >= to) {
        out.push(a, b);
        continue;
      }
      if (a < from) out.push(a, from);
      if (b > to) out.push(to, b);
    }
    r.length = 0;
    r.push(...out);
  }

  /** True when every integer of `[from, to)` is in the set. */
  covers(from: number, to: number): boolean {
    if (to <= from) return true;
    const r = this.#r;
    for (let i = 0; i < r.length; i += 2) if (r[i]! <= from && r[i + 1]! >= to) return true;
    return false;
  }

  /** The ranges of `[from, to)` that are NOT in the set, flat. */
  gaps(from: number, to: number): number[] {
    const out: number[] = [];
    let at = from;
    const r = this.#r;
    for (let i = 0; i < r.length && at < to; i += 2) {
      const a = r[i]!;
      const b = r[i + 1]!;
      if (b <= at) continue;
      if (a >= to) break;
      if (a > at) out.push(at, a);
      at = Math.max(at, b);
    }
    if (at < to) out.push(at, to);
    return out;
  }

  /** How many integers of `[from, to)` are in the set. */
  countIn(from: number, to: number): number {
    let n = 0;
    const r = this.#r;
    for (let i = 0; i < r.length; i += 2) {
      const a = Math.max(from, r[i]!);
      const b = Math.min(to, r[i + 1]!);
      if (b > a) n += b - a;
    }
    return n;
  }
}
