/**
 * A token bucket per source address: `rate` tokens per second, at most `burst` held. Buckets refill
 * lazily when the address is next seen. The table holds at most `maxSources` addresses; when full it
 * starts over (every address gets a full bucket again), which bounds memory at the price of letting a
 * flood of distinct addresses through — each of them is then limited again from its next burst on.
 */
export interface TokenBucketOptions {
  eventsPerSecond: number;
  burst: number;
  maxSources: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    this.#rate = options.eventsPerSecond / 1000;
    this.#burst = options.burst;
    this.#max = options.maxSources;
  }

  get sources(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `source` at `nowMs`; false when the source is over its rate. */
  take(source: string, nowMs: number): boolean {
    let b = this.#buckets.get(source);
    if (b === undefined) {
      if (this.#buckets.size >= this.#max) this.#buckets.clear();
      b = { tokens: this.#burst, at: nowMs };
      this.#buckets.set(source, b);
    } else if (nowMs > b.at) {
      b.tokens = Math.min(this.#burst, b.tokens + (nowMs - b.at) * this.#rate);
      b.at = nowMs;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
