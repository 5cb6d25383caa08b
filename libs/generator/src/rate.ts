import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Paces a run at `rate` events per second (times `factor()`, the diurnal curve, when given): credit
 * accrues with the wall clock and `take` hands out whole events of it, sleeping when there is none. A
 * stall (a slow receiver) leaves at most one second of credit, so the run catches up without a burst
 * far above the rate.
 */
export class RateGate {
  readonly #rate: number;
  readonly #factor: () => number;
  #credit = 0;
  #last = performance.now();

  constructor(rate: number, factor: () => number = () => 1) {
    this.#rate = rate;
    this.#factor = factor;
  }

  #refill(): number {
    const now = performance.now();
    const perSecond = this.#rate * this.#factor();
    this.#credit = Math.min(this.#credit + ((now - this.#last) / 1000) * perSecond, Math.max(1, perSecond));
    this.#last = now;
    return perSecond;
  }

  /** Waits for credit, then returns how many events (1 … max) may go now. */
  async take(max: number): Promise<number> {
    for (;;) {
      const perSecond = this.#refill();
      if (this.#credit >= 1) {
        const n = Math.min(max, Math.floor(this.#credit));
        this.#credit -= n;
        return n;
      }
      // Sleep until about a hundredth of a second of events has accrued: few wake-ups at high rates.
      const wantMs = Math.max(((1 - this.#credit) / perSecond) * 1000, Math.min(10, 1000 / perSecond));
      await sleep(Math.max(1, Math.ceil(wantMs)));
    }
  }
}
