import { COMPONENT_METRIC_NAMES, metricsRegistry, type Registry } from '@siem/observability';

/**
 * /api/v1/stats: rates over the last 1, 5 and 15 minutes, from periodic samples of the metrics
 * registry. A sample reads the `siem_*` counters and gauges (not the process metrics) and reduces them
 * to a few hundred named series at most — sums of counters by a label — each kept in a ring covering 15
 * minutes. Counters are stored as monotonic running totals (a reset, e.g. a restarted component, counts
 * from zero instead of going negative), so a rate is one subtraction and answering a request costs
 * O(series), whatever the sample interval: polling it every second is cheap.
 */
export const STAT_WINDOWS = [
  { name: '1m', seconds: 60 },
  { name: '5m', seconds: 300 },
  { name: '15m', seconds: 900 },
] as const;

export type Rates = Record<(typeof STAT_WINDOWS)[number]['name'], number | null>;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
}

interface MetricSnapshot {
  name: string;
  type: string;
  values: MetricValue[];
}

/**
 * A reduction of the metrics into named series. `path` is where the value goes in the answer
 * (`stages.received`, `adapters.<component_id>.received_events`): each `<label>` in it is replaced by
 * that label's value, giving one series per value (a value without the label is left out). Values
 * matching `where` are summed. Counters become rates; gauges are reported as is.
 */
export interface StatSeries {
  path: string;
  metric: string;
  kind: 'counter' | 'gauge';
  where?: Record<string, string>;
}

const V = COMPONENT_METRIC_NAMES;
const SOURCE = { component_kind: 'source' };

/**
 * The default reductions, read from fixed metric names: the component vocabulary every source, buffer
 * and sink reports (`siem_component_*`), and a few family metrics.
 * - adapters: per source component (the adapter id): events and bytes received, events discarded,
 *   errors;
 * - stages: received (every source) → buffered → Kafka delivered / consumed → normalized → stored, and
 *   what the pump did with each sink's batches (delivered, requeued, dropped);
 * - buffer: utilisation gauges per buffer;
 * - kafka: consumer lag (records, summed over partitions); storage: the database circuit breaker (0
 *   closed, 1 half-open, 2 open);
 * - errors (per second): events dropped on purpose (rate limits, drop policies) and lost (failures),
 *   each also per component and reason; errors, also per component and code; the same for the
 *   adapters, Kafka, storage and the dead letters by name; and the share of received events lost by
 *   failure (`errors.ratio`: a policy drop is not a loss).
 */
export const defaultStatSeries: readonly StatSeries[] = [
  {
    path: 'adapters.<component_id>.received_events',
    metric: V.receivedEvents,
    kind: 'counter',
    where: SOURCE,
  },
  { path: 'adapters.<component_id>.received_bytes', metric: V.receivedBytes, kind: 'counter', where: SOURCE },
  {
    path: 'adapters.<component_id>.discarded_events',
    metric: V.discardedEvents,
    kind: 'counter',
    where: SOURCE,
  },
  { path: 'adapters.<component_id>.errors', metric: V.errors, kind: 'counter', where: SOURCE },
  { path: 'stages.received', metric: V.receivedEvents, kind: 'counter', where: SOURCE },
  { path: 'stages.buffered', metric: V.receivedEvents, kind: 'counter', where: { component_kind: 'buffer' } },
  {
    path: 'stages.kafka_delivered',
    metric: V.sentEvents,
    kind: 'counter',
    where: { component_type: 'kafka' },
  },
  { path: 'stages.kafka_consumed', metric: 'siem_kafka_consumed_records_total', kind: 'counter' },
  {
    path: 'stages.normalized',
    metric: V.sentEvents,
    kind: 'counter',
    where: { component_type: 'normalizer' },
  },
  { path: 'stages.stored', metric: V.sentEvents, kind: 'counter', where: { component_type: 'timescaledb' } },
  {
    path: 'stages.sinks.<sink>.delivered',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    where: { outcome: 'delivered' },
  },
  {
    path: 'stages.sinks.<sink>.requeued',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    where: { outcome: 'requeued' },
  },
  {
    path: 'stages.sinks.<sink>.dropped',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    where: { outcome: 'dropped' },
  },
  { path: 'buffer.<buffer>.memory_fill_ratio', metric: 'siem_buffer_memory_fill_ratio', kind: 'gauge' },
  { path: 'buffer.<buffer>.memory_events', metric: 'siem_buffer_memory_events', kind: 'gauge' },
  { path: 'buffer.<buffer>.memory_bytes', metric: 'siem_buffer_memory_bytes', kind: 'gauge' },
  { path: 'buffer.<buffer>.disk_bytes', metric: 'siem_buffer_disk_bytes', kind: 'gauge' },
  { path: 'buffer.<buffer>.disk_segments', metric: 'siem_buffer_disk_segments', kind: 'gauge' },
  { path: 'buffer.<buffer>.spilling', metric: 'siem_buffer_spilling', kind: 'gauge' },
  { path: 'buffer.<buffer>.paused', metric: 'siem_buffer_paused', kind: 'gauge' },
  // the state the console's overview turns red on (absent in roles without Kafka or a database)
  { path: 'kafka.consumer_lag_records', metric: 'siem_kafka_consumer_lag_records', kind: 'gauge' },
  { path: 'storage.breaker_state', metric: 'siem_storage_breaker_state', kind: 'gauge' },
  { path: 'errors.dropped', metric: V.discardedEvents, kind: 'counter', where: { intentional: 'true' } },
  { path: 'errors.lost', metric: V.discardedEvents, kind: 'counter', where: { intentional: 'false' } },
  {
    path: 'errors.dropped_by.<component_id>.<reason>',
    metric: V.discardedEvents,
    kind: 'counter',
    where: { intentional: 'true' },
  },
  {
    path: 'errors.lost_by.<component_id>.<reason>',
    metric: V.discardedEvents,
    kind: 'counter',
    where: { intentional: 'false' },
  },
  { path: 'errors.errors', metric: V.errors, kind: 'counter' },
  { path: 'errors.errors_by.<component_id>.<error_code>', metric: V.errors, kind: 'counter' },
  { path: 'errors.adapter_discarded', metric: V.discardedEvents, kind: 'counter', where: SOURCE },
  { path: 'errors.adapter_errors', metric: V.errors, kind: 'counter', where: SOURCE },
  {
    path: 'errors.kafka_delivery_errors',
    metric: V.errors,
    kind: 'counter',
    where: { component_type: 'kafka' },
  },
  {
    path: 'errors.storage_write_errors',
    metric: V.errors,
    kind: 'counter',
    where: { component_type: 'timescaledb' },
  },
  {
    path: 'errors.dead_letters',
    metric: V.discardedEvents,
    kind: 'counter',
    where: { component_type: 'normalizer' },
  },
  {
    path: 'errors.dead_letters_by_reason.<reason>',
    metric: V.discardedEvents,
    kind: 'counter',
    where: { component_type: 'normalizer' },
  },
];

/** Events lost by failure, counted into `errors.ratio` over `stages.received`. */
const LOSS_PATH = 'errors.lost';

interface Ring {
  kind: 'counter' | 'gauge';
  /** Monotonic total (counters) or the value (gauges), per sample; NaN before the series existed. */
  values: Float64Array;
  /** Last raw counter value seen, to detect resets. */
  last: number;
}

export interface StatsSamplerOptions {
  sampleMs: number;
  registry?: Registry;
  series?: readonly StatSeries[];
  /** Clock, for tests. */
  now?: () => number;
}

export class StatsSampler {
  readonly #registry: Registry;
  readonly #series: readonly StatSeries[];
  /** The metric names the series read, and the label names each path is built from. */
  readonly #metrics: Set<string>;
  readonly #placeholders: ReadonlyMap<StatSeries, readonly string[]>;
  readonly #sampleMs: number;
  readonly #now: () => number;
  readonly #capacity: number;
  readonly #times: Float64Array;
  readonly #rings = new Map<string, Ring>();
  /** Number of samples taken (the ring index of the next one is count % capacity). */
  #count = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** Cost of the last sample (reported in the answer; the benchmark reads it too). */
  lastSampleMs = 0;

  constructor(o: StatsSamplerOptions) {
    this.#registry = o.registry ?? metricsRegistry;
    this.#series = o.series ?? defaultStatSeries;
    this.#metrics = new Set(this.#series.map((s) => s.metric));
    this.#placeholders = new Map(
      this.#series.map((s) => [s, [...s.path.matchAll(/<([a-z_][a-z0-9_]*)>/g)].map((m) => m[1]!)]),
    );
    this.#sampleMs = o.sampleMs;
    this.#now = o.now ?? Date.now;
    this.#capacity = Math.ceil((STAT_WINDOWS[STAT_WINDOWS.length - 1]!.seconds * 1000) / o.sampleMs) + 2;
    this.#times = new Float64Array(this.#capacity).fill(Number.NaN);
  }

  start(): void {
    if (this.#timer !== null) return;
    void this.sample();
    this.#timer = setInterval(() => {
      void this.sample();
    }, this.#sampleMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Takes one sample now (the timer calls it; tests call it directly). Never rejects. */
  sample(): Promise<void> {
    this.#running ??= this.#sample()
      .catch(() => undefined)
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #read(): Promise<MetricSnapshot[]> {
    const out: MetricSnapshot[] = [];
    for (const metric of this.#registry.getMetricsAsArray()) {
      const name = (metric as { name: string }).name;
      if (!name.startsWith('siem_')) continue;
      if (!this.#metrics.has(name)) continue;
      const got = (await (
        metric as unknown as { get(): Promise<MetricSnapshot> | MetricSnapshot }
      ).get()) as MetricSnapshot;
      if (got.type === 'counter' || got.type === 'gauge') out.push(got);
    }
    return out;
  }

  async #sample(): Promise<void> {
    const started = performance.now();
    const metrics = await this.#read();
    const values = new Map<string, { kind: 'counter' | 'gauge'; value: number }>();
    for (const s of this.#series) {
      const labels = this.#placeholders.get(s)!;
      for (const m of metrics) {
        if (s.metric !== m.name) continue;
        if ((s.kind === 'counter') !== (m.type === 'counter')) continue;
        for (const v of m.values) {
          if (s.where && Object.entries(s.where).some(([k, want]) => String(v.labels[k]) !== want)) continue;
          const path = pathOf(s.path, labels, v.labels);
          if (path === null) continue;
          const prev = values.get(path);
          values.set(path, { kind: s.kind, value: (prev?.value ?? 0) + v.value });
        }
      }
    }
    this.#record(values);
    this.lastSampleMs = performance.now() - started;
  }

  #record(values: Map<string, { kind: 'counter' | 'gauge'; value: number }>): void {
    const i = this.#count % this.#capacity;
    const prev = (i - 1 + this.#capacity) % this.#capacity;
    const first = this.#count === 0;
    this.#times[i] = this.#now();
    for (const [path, { kind, value }] of values) {
      let ring = this.#rings.get(path);
      if (ring === undefined) {
        // A counter that appears after sampling began was zero until now: its history is zeros. On the
        // first sample the history is unknown (NaN); the total starts at the current value.
        const history = first || kind === 'gauge' ? Number.NaN : 0;
        ring = { kind, values: new Float64Array(this.#capacity).fill(history), last: first ? value : 0 };
        this.#rings.set(path, ring);
        if (first) {
          ring.values[i] = value;
          continue;
        }
      }
      if (kind === 'gauge') {
        ring.values[i] = value;
        continue;
      }
      // a counter lower than last time was reset (re-created): it counted from zero since
      const delta = value >= ring.last ? value - ring.last : value;
      const before = ring.values[prev]!;
      ring.values[i] = (Number.isNaN(before) ? 0 : before) + delta;
      ring.last = value;
    }
    // Series missing from this sample (a component gone): counters keep their total, gauges go empty.
    for (const [path, ring] of this.#rings) {
      if (values.has(path)) continue;
      ring.values[i] = ring.kind === 'counter' ? ring.values[prev]! : Number.NaN;
      if (ring.kind === 'counter') ring.last = 0;
    }
    this.#count++;
  }

  /** The answer of /api/v1/stats. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const n = Math.min(this.#count, this.#capacity);
    const latest = (this.#count - 1 + this.#capacity) % this.#capacity;
    const tNow = this.#times[latest]!;
    // for each window, the oldest sample at most that old
    const startIndex = STAT_WINDOWS.map((w) => {
      let best = -1;
      for (let k = 1; k < n; k++) {
        const idx = (latest - k + this.#capacity) % this.#capacity;
        if (tNow - this.#times[idx]! <= w.seconds * 1000 + this.#sampleMs / 2) best = idx;
        else break;
      }
      return best;
    });
    const rateOf = (ring: Ring): Rates => {
      const r = {} as Rates;
      STAT_WINDOWS.forEach((w, wi) => {
        const from = startIndex[wi]!;
        const v1 = ring.values[latest]!;
        const v0 = from < 0 ? Number.NaN : ring.values[from]!;
        const dt = from < 0 ? 0 : (tNow - this.#times[from]!) / 1000;
        r[w.name] = dt > 0 && !Number.isNaN(v0) && !Number.isNaN(v1) ? round((v1 - v0) / dt) : null;
      });
      return r;
    };
    const rates = new Map<string, Rates>();
    const totals: Record<string, unknown> = {};
    for (const [path, ring] of this.#rings) {
      const value = ring.kind === 'counter' ? rateOf(ring) : ring.values[latest]!;
      if (ring.kind === 'counter') {
        rates.set(path, value as Rates);
        const total = ring.values[latest]!;
        if (!Number.isNaN(total)) setPath(totals, path, round(total));
      }
      if (typeof value === 'number' && Number.isNaN(value)) continue;
      setPath(out, path, value);
    }
    // the share of received events lost by failure (a policy drop is what the operator asked for)
    const received = rates.get('stages.received');
    if (received !== undefined) {
      const ratio = {} as Rates;
      for (const w of STAT_WINDOWS) {
        const r = received[w.name];
        const lost = rates.get(LOSS_PATH)?.[w.name] ?? 0;
        ratio[w.name] = r === null || r <= 0 ? null : round(lost / r);
      }
      setPath(out, 'errors.ratio', ratio);
    }
    const covered =
      n < 2 ? 0 : (tNow - this.#times[(latest - (n - 1) + this.#capacity) % this.#capacity]!) / 1000;
    return {
      at: new Date(Number.isNaN(tNow) ? this.#now() : tNow).toISOString(),
      unit: 'per second (counters); current value (gauges)',
      sample_ms: this.#sampleMs,
      covered_seconds: Math.round(covered),
      sample_cost_ms: round(this.lastSampleMs),
      adapters: {},
      stages: {},
      buffer: {},
      errors: {},
      ...out,
      // what each counter series counted since the process started, at the last sample
      totals,
    };
  }
}

/** `path` with each `<label>` replaced by its value; null when the value lacks one of them. */
function pathOf(path: string, labels: readonly string[], values: MetricValue['labels']): string | null {
  let out = path;
  for (const label of labels) {
    const value = values[label];
    if (value === undefined) return null;
    out = out.replace(`<${label}>`, String(value));
  }
  return out;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    let next = node[k];
    if (typeof next !== 'object' || next === null) {
      next = {};
      node[k] = next;
    }
    node = next as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}
