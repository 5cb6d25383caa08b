/**
 * A small seeded generator (sfc32, seeded through splitmix32): the same seed gives the same sequence
 * on every machine and Node version, which Math.random cannot promise. Not for secrets.
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /**
   * An element with a heavy head: index ⌊n·u^k⌋ makes the first entries far more frequent than the
   * last, as a few users, hosts and addresses make most of the traffic of a real network.
   */
  skewed<T>(items: readonly T[], k = 2.5): T {
    return items[this.skewedIndex(items.length, k)]!;
  }

  /** The index `skewed` picks among n items. */
  skewedIndex(n: number, k = 2.5): number {
    const u = this.float();
    // u ** 2.5 without Math.pow: the default is on the hot path of nearly every kind
    return Math.floor(n * (k === 2.5 ? u * u * Math.sqrt(u) : u ** k));
  }

  /** Lower-case hex digits. */
  hex(digits: number): string {
    let s = '';
    while (s.length < digits) s += this.u32().toString(16).padStart(8, '0');
    return s.slice(0, digits);
  }

  /** A version-4-shaped UUID from this sequence (deterministic, unlike crypto.randomUUID). */
  uuid(): string {
    const h = this.hex(32);
    const v = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
