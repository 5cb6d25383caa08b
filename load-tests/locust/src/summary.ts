import type { LoadOptions } from './args.js';

/** One entry of Locust's `--json-file` output (locust/stats.py StatsEntryDict). */
export interface LocustEntry {
  name: string;
  method: string;
  num_requests: number;
  num_failures: number;
  total_content_length: number;
  /** Response time in ms (rounded by Locust) → how many requests took it. */
  response_times: Record<string, number>;
}

export interface LoadSummary {
  scenario: string;
  durationSeconds: number;
  users: number;
  workers: number;
  batch: number;
  rateOffered: number;
  requests: number;
  failures: number;
  errorRatio: number;
  events: {
    offered: number;
    acknowledged: number;
    /** Counted on the far side (stored rows of this run's markers); null when the scenario stores nothing. */
    stored: number | null;
    offeredPerSecond: number;
    acknowledgedPerSecond: number;
  };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  tail: { clients: number; events: number; dropped: number } | null;
}

/** The smallest recorded time with at least `q` of the requests at or below it. */
export function percentile(hist: Record<string, number>, q: number): number {
  const points = Object.entries(hist)
    .map(([ms, n]) => [Number(ms), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = points.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return 0;
  let seen = 0;
  for (const [ms, n] of points) {
    seen += n;
    if (seen >= q * total) return ms;
  }
  return points[points.length - 1]![0];
}

function mergeHist(entries: readonly LocustEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries)
    for (const [ms, n] of Object.entries(e.response_times)) out[ms] = (out[ms] ?? 0) + n;
  return out;
}

const TAIL_EVENTS = 'tail events';
const TAIL_DROPPED = 'tail dropped';

/**
 * Offered and acknowledged events from Locust's per-request stats: every sender request carries
 * exactly `batch` events (a write, a window, an HTTP batch), a failed request acknowledges none.
 * Latency percentiles are those of the sender (or query) requests, not of the tail's receive lag.
 */
export function summarize(
  entries: readonly LocustEntry[],
  o: LoadOptions,
  stored: number | null,
): LoadSummary {
  const isTail = (e: LocustEntry) => e.method === 'WS';
  const load = entries.filter((e) => !isTail(e));
  const requests = entries.reduce((s, e) => s + e.num_requests, 0);
  const failures = entries.reduce((s, e) => s + e.num_failures, 0);
  const sent = load.reduce((s, e) => s + e.num_requests, 0);
  const failed = load.reduce((s, e) => s + e.num_failures, 0);
  const eventsPerRequest = o.scenario.payload === null ? 0 : o.batch;
  const offered = sent * eventsPerRequest;
  const acknowledged = (sent - failed) * eventsPerRequest;
  const hist = mergeHist(load);
  const maxMs = Math.max(0, ...Object.keys(hist).map(Number));
  const tailEntry = (name: string) => entries.find((e) => isTail(e) && e.name === name);
  const hasTail = o.scenario.users.includes('TailUser');
  return {
    scenario: o.scenarioName,
    durationSeconds: o.durationSeconds,
    users: o.users,
    workers: o.workers,
    batch: o.batch,
    rateOffered: o.rate,
    requests,
    failures,
    errorRatio: requests === 0 ? 0 : failures / requests,
    events: {
      offered,
      acknowledged,
      stored,
      offeredPerSecond: Math.round(offered / o.durationSeconds),
      acknowledgedPerSecond: Math.round(acknowledged / o.durationSeconds),
    },
    latencyMs: {
      p50: percentile(hist, 0.5),
      p95: percentile(hist, 0.95),
      p99: percentile(hist, 0.99),
      max: maxMs,
    },
    tail: hasTail
      ? {
          clients: o.tailClients,
          events: tailEntry(TAIL_EVENTS)?.total_content_length ?? 0,
          dropped: tailEntry(TAIL_DROPPED)?.total_content_length ?? 0,
        }
      : null,
  };
}

export interface ThresholdResult {
  name: string;
  limit: string;
  value: number | null;
  pass: boolean;
}

/** Every threshold of the scenario against the summary; the run passes when all pass. */
export function evaluate(s: LoadSummary, o: LoadOptions): ThresholdResult[] {
  const t = o.scenario.thresholds;
  const r: ThresholdResult[] = [];
  const add = (name: string, limit: string, value: number | null, pass: boolean) =>
    r.push({ name, limit, value, pass });
  const ev = s.events;
  add('requests', '> 0', s.requests, s.requests > 0);
  add('error ratio', `<= ${t.maxErrorRatio}`, s.errorRatio, s.errorRatio <= t.maxErrorRatio);
  add('p95 latency ms', `<= ${t.p95Ms}`, s.latencyMs.p95, s.latencyMs.p95 <= t.p95Ms);
  add('p99 latency ms', `<= ${t.p99Ms}`, s.latencyMs.p99, s.latencyMs.p99 <= t.p99Ms);
  if (o.scenario.payload !== null) {
    const ackRatio = ev.offered === 0 ? 0 : ev.acknowledged / ev.offered;
    add(
      'acknowledged / offered',
      `>= ${t.minAckRatio}`,
      ackRatio,
      ev.offered > 0 && ackRatio >= t.minAckRatio,
    );
    if (o.rate > 0) {
      const floor = t.minRateShare * o.rate;
      add(
        'acknowledged events/s',
        `>= ${floor}`,
        ev.acknowledgedPerSecond,
        ev.acknowledgedPerSecond >= floor,
      );
    }
  }
  if (t.minStoredRatio !== null && o.farSide) {
    // UDP acknowledges nothing: what was sent is what must arrive (within its loss allowance)
    const udp = o.scenario.intake === 'syslog_udp';
    const base = udp ? ev.offered : ev.acknowledged;
    const ratio = ev.stored === null || base === 0 ? null : ev.stored / base;
    const label = udp ? 'stored / offered' : 'stored / acknowledged';
    add(label, `>= ${t.minStoredRatio}`, ratio, ratio !== null && ratio >= t.minStoredRatio);
    // more stored than offered: duplicates, or requests the client statistics lost
    add(
      'stored - offered',
      '<= 0',
      ev.stored === null ? null : ev.stored - ev.offered,
      ev.stored !== null && ev.stored <= ev.offered,
    );
  }
  if (t.minTailRatio !== null && o.farSide) {
    const tail = s.tail;
    const expected = (ev.stored ?? 0) * (tail?.clients ?? 0);
    const ratio = tail === null || expected === 0 ? null : (tail.events + tail.dropped) / expected;
    add(
      'tail (received + dropped) / stored per client',
      `>= ${t.minTailRatio}`,
      ratio,
      ratio !== null && ratio >= t.minTailRatio,
    );
  }
  return r;
}
