import { metricsRegistry, type Registry } from '@siem/observability';

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
 * (`stages.received`, `adapters.<label>.received_events`): `<label>` is replaced by the value of the
 * `by` label, giving one series per label value. Counters become rates; gauges are reported as is.
 */
export interface StatSeries {
  path: string;
  metric: string | RegExp;
  kind: 'counter' | 'gauge';
  by?: string;
  where?: Record<string, string>;
}

/** Metric name → the short name used under `adapters.<name>`: `siem_syslog_received_events_total` → `received_events`. */
function shortName(metric: string): string {
  return metric.replace(/^siem_[a-z0-9]+_/, '').replace(/_total$/, '');
}

/**
 * The default reductions, from the counters the pipeline components register:
 * - adapters: every `siem_*_total` counter labelled `listener` or `adapter`, per adapter name;
 * - stages: received (adapters) → buffered → Kafka delivered / consumed → normalized → stored, and each
 *   sink's outcomes (delivered, requeued, dropped);
 * - buffer: utilisation gauges per buffer;
 * - errors: drops, parse errors, delivery and write errors, dead letters (per second), and the share of
 *   received events that ended in an error (`errors.ratio`).
 */
export const defaultStatSeries: readonly StatSeries[] = [
  { path: 'adapters.<label>.<metric>', metric: /^siem_[a-z0-9]+_.+_total$/, kind: 'counter', by: 'listener' },
  { path: 'adapters.<label>.<metric>', metric: /^siem_[a-z0-9]+_.+_total$/, kind: 'counter', by: 'adapter' },
  { path: 'stages.received', metric: /^siem_[a-z0-9]+_received_events_total$/, kind: 'counter' },
  { path: 'stages.buffered', metric: 'siem_buffer_accepted_events_total', kind: 'counter' },
  { path: 'stages.kafka_delivered', metric: 'siem_kafka_delivered_records_total', kind: 'counter' },
  { path: 'stages.kafka_consumed', metric: 'siem_kafka_consumed_records_total', kind: 'counter' },
  { path: 'stages.normalized', metric: 'siem_normalizer_events_total', kind: 'counter' },
  { path: 'stages.stored', metric: 'siem_storage_rows_written_total', kind: 'counter' },
  {
    path: 'stages.sinks.<label>.delivered',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    by: 'sink',
    where: { outcome: 'delivered' },
  },
  {
    path: 'stages.sinks.<label>.requeued',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    by: 'sink',
    where: { outcome: 'requeued' },
  },
  {
    path: 'stages.sinks.<label>.dropped',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    by: 'sink',
    where: { outcome: 'dropped' },
  },
  {
    path: 'buffer.<label>.memory_fill_ratio',
    metric: 'siem_buffer_memory_fill_ratio',
    kind: 'gauge',
    by: 'buffer',
  },
  { path: 'buffer.<label>.memory_events', metric: 'siem_buffer_memory_events', kind: 'gauge', by: 'buffer' },
  { path: 'buffer.<label>.memory_bytes', metric: 'siem_buffer_memory_bytes', kind: 'gauge', by: 'buffer' },
  { path: 'buffer.<label>.disk_bytes', metric: 'siem_buffer_disk_bytes', kind: 'gauge', by: 'buffer' },
  { path: 'buffer.<label>.disk_segments', metric: 'siem_buffer_disk_segments', kind: 'gauge', by: 'buffer' },
  { path: 'buffer.<label>.spilling', metric: 'siem_buffer_spilling', kind: 'gauge', by: 'buffer' },
  { path: 'buffer.<label>.paused', metric: 'siem_buffer_paused', kind: 'gauge', by: 'buffer' },
  { path: 'errors.adapter_discarded', metric: /^siem_[a-z0-9]+_discarded_events_total$/, kind: 'counter' },
  { path: 'errors.parse_errors', metric: /^siem_[a-z0-9]+_parse_errors_total$/, kind: 'counter' },
  { path: 'errors.buffer_dropped', metric: 'siem_buffer_dropped_events_total', kind: 'counter' },
  { path: 'errors.buffer_lost', metric: 'siem_buffer_lost_events_total', kind: 'counter' },
  { path: 'errors.kafka_delivery_errors', metric: 'siem_kafka_delivery_errors_total', kind: 'counter' },
  { path: 'errors.storage_write_errors', metric: 'siem_storage_write_errors_total', kind: 'counter' },
  { path: 'errors.dead_letters', metric: 'siem_normalizer_dead_letters_total', kind: 'counter' },
  {
    path: 'errors.dead_letters_by_reason.<label>',
    metric: 'siem_normalizer_dead_letters_total',
    kind: 'counter',
    by: 'reason',
  },
  {
    path: 'errors.sink_dropped',
    metric: 'siem_pipeline_records_total',
    kind: 'counter',
    where: { outcome: 'dropped' },
  },
];

/** Errors counted into `errors.ratio` (events lost or rejected), over `stages.received`. */
const LOSS_PATHS = [
  'errors.adapter_discarded',
  'errors.buffer_dropped',
  'errors.buffer_lost',
  'errors.dead_letters',
  'errors.sink_dropped',
];

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
      if (!this.#series.some((s) => (typeof s.metric === 'string' ? s.metric === name : s.metric.test(name))))
        continue;
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
      for (const m of metrics) {
        if (typeof s.metric === 'string' ? s.metric !== m.name : !s.metric.test(m.name)) continue;
        if ((s.kind === 'counter') !== (m.type === 'counter')) continue;
        for (const v of m.values) {
          if (s.where && Object.entries(s.where).some(([k, want]) => String(v.labels[k]) !== want)) continue;
          let path = s.path.replace('<metric>', shortName(m.name));
          if (s.by !== undefined) {
            const label = v.labels[s.by];
            if (label === undefined) continue;
            path = path.replace('<label>', String(label));
          }
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
    for (const [path, ring] of this.#rings) {
      const value = ring.kind === 'counter' ? rateOf(ring) : ring.values[latest]!;
      if (ring.kind === 'counter') rates.set(path, value as Rates);
      if (typeof value === 'number' && Number.isNaN(value)) continue;
      setPath(out, path, value);
    }
    // the share of received events lost or rejected
    const received = rates.get('stages.received');
    if (received !== undefined) {
      const ratio = {} as Rates;
      for (const w of STAT_WINDOWS) {
        const r = received[w.name];
        const lost = LOSS_PATHS.reduce((sum, p) => sum + (rates.get(p)?.[w.name] ?? 0), 0);
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
    };
  }
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
