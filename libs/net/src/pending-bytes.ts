/**
 * The process-wide budget of bytes that stream connections (syslog TCP/TLS, Windows events) hold for
 * frames not yet whole. Each connection is bounded on its own by its listener's max_frame_bytes; this
 * bounds them all together, so thousands of connections each sending half of a 4 MiB frame cannot
 * hold gigabytes. Every running listener adds its `max_pending_bytes` to the budget (three stream
 * listeners with the default: 192 MiB for the process); any connection of any of them may use it.
 *
 * When the total goes over, the connections holding the most are closed first (their reason:
 * `memory_budget`, counted): a half-sent frame held open is what an attacker's connection looks like,
 * while a sender that keeps up holds next to nothing between reads.
 */
export class PendingBytesBudget {
  #capacity = 0;
  #used = 0;
  readonly #holders = new Map<object, { bytes: number; evict: () => void }>();

  get capacity(): number {
    return this.#capacity;
  }

  get used(): number {
    return this.#used;
  }

  addCapacity(bytes: number): void {
    this.#capacity += bytes;
  }

  removeCapacity(bytes: number): void {
    this.#capacity = Math.max(0, this.#capacity - bytes);
  }

  /**
   * Records what `holder` holds now; over budget, evicts the largest holders until it fits (`evict`
   * closes the connection). Returns false when `holder` itself was evicted.
   */
  set(holder: object, bytes: number, evict: () => void): boolean {
    const h = this.#holders.get(holder);
    if (bytes === 0) {
      if (h !== undefined) this.release(holder);
      return true;
    }
    if (h === undefined) this.#holders.set(holder, { bytes, evict });
    else {
      this.#used -= h.bytes;
      h.bytes = bytes;
    }
    this.#used += bytes;
    if (this.#used <= this.#capacity) return true;
    const largest = [...this.#holders].sort((a, b) => b[1].bytes - a[1].bytes);
    for (const [who, held] of largest) {
      if (this.#used <= this.#capacity) break;
      this.release(who);
      held.evict();
    }
    return this.#holders.has(holder);
  }

  release(holder: object): void {
    const h = this.#holders.get(holder);
    if (h === undefined) return;
    this.#used -= h.bytes;
    this.#holders.delete(holder);
  }
}

/** The budget of this process, shared by every stream listener. */
export const pendingBytesBudget = new PendingBytesBudget();
