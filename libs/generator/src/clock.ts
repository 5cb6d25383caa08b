/**
 * Event time. Seeded runs use a simulated clock — event i is stamped base + the sum of the spacings
 * before it — so the same seed and the same `--start` give byte-identical output; unseeded runs stamp
 * the wall clock. The diurnal curve shapes the spacing (quiet nights, a busy afternoon) and, when the
 * run is rate-limited, the send rate too.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Relative activity at an hour of the day (UTC), 0.2 at 04:00 and 1.0 at 16:00: a cosine between the
 * two, the shape of an office network's log volume.
 */
export function diurnalFactor(epochMs: number): number {
  const hour = (epochMs / 3_600_000) % 24;
  return 0.6 - 0.4 * Math.cos(((hour - 4) / 24) * 2 * Math.PI);
}

/**
 * The text forms of one instant the kinds need. The second-level forms are formatted once per second
 * and the ISO form on first use, not per event: at a simulated 1 ms per event, formatting every form
 * for every event took half the generator's time.
 */
export class TimeText {
  #ms = Number.NaN;
  #second = Number.NaN;
  #isoMs = Number.NaN;
  #iso = '';
  /** RFC 3164: `Dec  3 14:57:08` (UTC). */
  bsd = '';
  /** `2026-12-03`. */
  date = '';
  /** `14:57:08`. */
  time = '';
  /** PAN-OS: `2026/12/03 14:57:08`. */
  slashed = '';

  set(ms: number): void {
    this.#ms = ms;
    const second = Math.floor(ms / 1000);
    if (second === this.#second) return;
    this.#second = second;
    const d = new Date(second * 1000);
    const iso = d.toISOString();
    const day = d.getUTCDate();
    this.date = iso.slice(0, 10);
    this.time = iso.slice(11, 19);
    this.bsd = `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} ${this.time}`;
    this.slashed = `${this.date.replace(/-/g, '/')} ${this.time}`;
  }

  get ms(): number {
    return this.#ms;
  }

  /** `2026-12-03T14:57:08.123Z`. */
  get iso(): string {
    if (this.#isoMs !== this.#ms) {
      this.#isoMs = this.#ms;
      const frac = this.#ms - this.#second * 1000;
      this.#iso = `${this.date}T${this.time}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
    }
    return this.#iso;
  }
}

export interface EventClockOptions {
  /** Simulated clock from this instant (seeded runs), or null: the wall clock. */
  startMs: number | null;
  /** Mean events per second the simulated clock advances at (the run's rate, or a nominal one). */
  eventsPerSecond: number;
  diurnal: boolean;
}

export class EventClock {
  readonly #o: EventClockOptions;
  #simMs: number;

  constructor(options: EventClockOptions) {
    this.#o = options;
    this.#simMs = options.startMs ?? 0;
  }

  /** The time of the next event. */
  next(): number {
    if (this.#o.startMs === null) return Date.now();
    const t = Math.floor(this.#simMs);
    const factor = this.#o.diurnal ? diurnalFactor(t) : 1;
    this.#simMs += 1000 / (this.#o.eventsPerSecond * factor);
    return t;
  }
}
