import { type EventClock, TimeText } from './clock.js';
import type { Kind, KindContext } from './kinds/kind.js';
import { buildPopulation, type Population } from './population.js';
import { Prng } from './prng.js';

export interface GeneratorOptions {
  seed: number;
  kinds: readonly Kind[];
  /** Share of events sent malformed, 0 … 1. */
  malformed: number;
  tenant: string | null;
  clock: EventClock;
}

export interface GeneratedEvent {
  /** Index of the kind in the generator's `kinds`. */
  kind: number;
  text: string;
  malformed: boolean;
}

/** Bursts start about once per this many events and last 20 … 300 attempts. */
const BURST_EVERY = 800;
/** Share of the events during a burst that belong to it (the rest is ordinary traffic). */
const BURST_SHARE = 0.6;

/**
 * The event stream: kinds drawn by weight, brute-force bursts from a few attacker addresses laid
 * over the ordinary traffic, and a share of malformed events. Everything random comes from one
 * seeded sequence, so a seed (and the clock's start) fixes the output.
 */
export class EventGenerator {
  readonly kinds: readonly Kind[];
  readonly population: Population;
  readonly #rng: Prng;
  readonly #cumulative: number[];
  readonly #total: number;
  readonly #attackKinds: number[];
  readonly #malformed: number;
  readonly #clock: EventClock;
  readonly #ctx: KindContext;
  #burstLeft = 0;
  #attacker = '';

  constructor(o: GeneratorOptions) {
    if (o.kinds.length === 0) throw new Error('a generator needs at least one kind');
    this.kinds = o.kinds;
    this.population = buildPopulation(o.seed, o.tenant);
    this.#rng = new Prng(o.seed);
    let sum = 0;
    this.#cumulative = o.kinds.map((k) => {
      sum += k.weight;
      return sum;
    });
    this.#total = sum;
    this.#attackKinds = o.kinds.flatMap((k, i) => (k.attack ? [i] : []));
    this.#malformed = o.malformed;
    this.#clock = o.clock;
    this.#ctx = { rng: this.#rng, pop: this.population, t: new TimeText(), attacker: null, seq: 0 };
  }

  #weighted(): number {
    const r = this.#rng.float() * this.#total;
    const c = this.#cumulative;
    for (let i = 0; i < c.length; i++) if (r < c[i]!) return i;
    return c.length - 1;
  }

  next(): GeneratedEvent {
    const rng = this.#rng;
    const ctx = this.#ctx;
    ctx.t.set(this.#clock.next());
    ctx.seq++;
    ctx.attacker = null;
    let kind: number;
    if (this.#burstLeft > 0 && rng.chance(BURST_SHARE)) {
      this.#burstLeft--;
      ctx.attacker = this.#attacker;
      kind = this.#attackKinds[rng.int(this.#attackKinds.length)]!;
    } else {
      if (this.#attackKinds.length > 0 && this.#burstLeft === 0 && rng.int(BURST_EVERY) === 0) {
        this.#burstLeft = rng.range(20, 300);
        this.#attacker = rng.pick(this.population.attackers);
      }
      kind = this.#weighted();
    }
    const text = this.kinds[kind]!.render(ctx);
    if (this.#malformed > 0 && rng.float() < this.#malformed) {
      return { kind, text: mangle(text, rng), malformed: true };
    }
    return { kind, text, malformed: false };
  }
}

/**
 * A malformed version of an event, as broken senders and networks make them: cut short, an
 * impossible syslog priority, or control characters in the middle. JSON documents cut short no longer
 * parse; syslog lines still arrive and are kept with a parse-error mark.
 */
function mangle(text: string, rng: Prng): string {
  const how = rng.int(3);
  const cut = Math.max(1, rng.range(Math.floor(text.length / 4), Math.floor((text.length * 3) / 4)));
  if (text.startsWith('{') || how === 0) return text.slice(0, cut);
  if (how === 1 && text.startsWith('<'))
    return `<${rng.range(192, 999)}>${text.slice(text.indexOf('>') + 1, cut)}`;
  return `${text.slice(0, cut)}\u0001\u0007\u001b[0m${text.slice(cut)}`;
}
