import type { EventFilter } from './filters.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export type HistogramSource = 'raw' | 'hourly' | 'daily';

/** A piece of the requested range counted from one table. */
export interface HistogramSegment {
  source: HistogramSource;
  fromMs: number;
  toMs: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS };

/** `30s`, `5m`, `1h`, `1d`, `1w` → milliseconds (null when malformed). */
export function parseInterval(text: string): number | null {
  const m = /^([1-9][0-9]{0,5})([smhdw])$/.exec(text);
  if (m === null) return null;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** The rollups carry these dimensions only; any other filter means counting raw rows. */
export function rollupCanServe(f: EventFilter): boolean {
  return (
    f.actions === null &&
    f.users === null &&
    f.srcIps === null &&
    f.dstIps === null &&
    f.eventCodes === null &&
    f.text === null
  );
}

interface Tier {
  source: HistogramSource;
  width: number;
}

/**
 * How a histogram of [fromMs, toMs) in buckets of `intervalMs` is counted, exactly, from the cheapest
 * tables. The hourly and daily rollups (continuous aggregates on TimescaleDB, rollup tables on plain
 * PostgreSQL) hold whole UTC hours and days; output buckets are aligned on the Unix epoch. A rollup
 * can serve a bucket when its width divides the interval (then each rollup row falls inside exactly one
 * output bucket) and the filters only use its dimensions. The range is then cut into: whole days from
 * the daily rollup, the whole hours around them from the hourly rollup, and the ragged minutes at the
 * two ends from the raw rows — so a 30-day histogram reads ~30 daily rows per series plus at most two
 * partial hours of raw events, and every count is exact.
 *
 * `horizonMs` is where the rollups stop being complete: +Infinity on TimescaleDB (real-time aggregates
 * count the rows not yet materialized), the last refresh (rounded down to the hour) on PostgreSQL;
 * anything after it is counted raw.
 */
export function planHistogram(o: {
  fromMs: number;
  toMs: number;
  intervalMs: number;
  rollupsUsable: boolean;
  horizonMs: number;
}): HistogramSegment[] {
  const tiers: Tier[] = [];
  if (o.rollupsUsable) {
    if (o.intervalMs % DAY_MS === 0) tiers.push({ source: 'daily', width: DAY_MS });
    if (o.intervalMs % HOUR_MS === 0) tiers.push({ source: 'hourly', width: HOUR_MS });
  }
  const out: HistogramSegment[] = [];
  const push = (s: HistogramSegment) => {
    if (s.fromMs >= s.toMs) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.source === s.source && last.toMs === s.fromMs) last.toMs = s.toMs;
    else out.push(s);
  };
  const split = (a: number, b: number, rest: readonly Tier[]): void => {
    if (a >= b) return;
    const tier = rest[0];
    if (tier === undefined) {
      push({ source: 'raw', fromMs: a, toMs: b });
      return;
    }
    const a2 = Math.ceil(a / tier.width) * tier.width;
    const b2 = Math.floor(b / tier.width) * tier.width;
    if (a2 >= b2) {
      split(a, b, rest.slice(1));
      return;
    }
    split(a, a2, rest.slice(1));
    push({ source: tier.source, fromMs: a2, toMs: b2 });
    split(b2, b, rest.slice(1));
  };
  const horizon = tiers.length === 0 ? o.fromMs : Math.max(o.fromMs, Math.min(o.toMs, o.horizonMs));
  split(o.fromMs, horizon, tiers);
  split(horizon, o.toMs, []);
  return out;
}
