import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Work on a large body is cut into slices with a turn of the event loop between them, so one request
 * never holds the loop longer than a slice (sockets, health checks and other requests go in between).
 * `spend` returns a promise only when a turn is due: `const t = turns.spend(n); if (t) await t;`.
 */
export class LoopTurns {
  readonly #every: number;
  #since = 0;

  constructor(everyBytes: number) {
    this.#every = everyBytes;
  }

  spend(bytes: number): Promise<void> | null {
    this.#since += bytes;
    if (this.#since < this.#every) return null;
    this.#since = 0;
    return nextTurn();
  }
}

/** Bytes of records parsed or encoded per turn of the event loop. */
export const SLICE_BYTES = 256 * 1024;
