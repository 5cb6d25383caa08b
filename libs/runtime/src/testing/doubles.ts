/**
 * Test doubles for the runtime's unit tests (pump, circuit sink). They stand in for our own contracts
 * — the buffer's `LeaseSource` and a `Sink` — not for an external service: the pump and the circuit
 * only ever talk to these interfaces, and the doubles let a test decide when and how each delivery
 * settles, which the real buffer and Kafka cannot be made to do on demand. The real services are
 * exercised by the integration tests.
 */
import type { BufferRecord, HealthStatus, Lease, LeaseSource, Sink } from '@siem/core';
import { metricsRegistry, type Registry } from '@siem/observability';
import type { RecoveringSink } from '../circuit.js';

/** A record whose key and value carry its position in the buffer, so order and identity are visible. */
export function record(seq: number): BufferRecord {
  return { key: `k${seq}`, value: Buffer.from(String(seq)) };
}

export function records(from: number, count: number): BufferRecord[] {
  return Array.from({ length: count }, (_, i) => record(from + i));
}

/** The position of a record made by `record()`. */
export function seqOf(r: BufferRecord): number {
  return Number(r.value.toString());
}

export type LeaseEvent = { op: 'lease' | 'ack' | 'nack'; id: number; seqs: number[] };

interface Queued {
  position: number;
  records: readonly BufferRecord[];
}

/**
 * A LeaseSource with the buffer's rules: `next` serves one call at a time in queue order, waits while
 * empty, rejects with the signal's reason on abort without taking anything, and resolves null once
 * closed; `nack` puts a lease back ahead of newer data (by queue position); an ack or nack of a lease
 * that is not outstanding is a contract violation and is recorded, not ignored.
 */
export class FakeLeaseSource implements LeaseSource {
  readonly events: LeaseEvent[] = [];
  readonly violations: string[] = [];
  /** Every signal `next` was given, to check the pump aborts the call it is waiting on. */
  readonly signals: (AbortSignal | undefined)[] = [];
  #pending: BufferRecord[] = [];
  #pendingFrom = 0;
  #requeued: Queued[] = [];
  readonly #outstanding = new Map<number, Queued & { lease: Lease }>();
  #nextId = 1;
  #closed = false;
  #wake: (() => void)[] = [];
  #tail: Promise<unknown> = Promise.resolve();

  constructor(initial: readonly BufferRecord[] = []) {
    this.push(...initial);
  }

  push(...more: BufferRecord[]): void {
    this.#pending.push(...more);
    this.#wakeAll();
  }

  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  /** Leases handed out and neither acked nor nacked. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** Records still owned by the source and not leased (new and handed back). */
  get queued(): number {
    return this.#pending.length + this.#requeued.reduce((n, q) => n + q.records.length, 0);
  }

  /** Positions of the records still owned by the source and not leased. */
  get remaining(): number[] {
    return [...this.#requeued.flatMap((q) => q.records), ...this.#pending].map(seqOf);
  }

  /** Positions of the acked records, in ack order. */
  get acked(): number[] {
    return this.events.filter((e) => e.op === 'ack').flatMap((e) => e.seqs);
  }

  count(op: LeaseEvent['op']): number {
    return this.events.filter((e) => e.op === op).length;
  }

  next(maxRecords: number, signal?: AbortSignal): Promise<Lease | null> {
    this.signals.push(signal);
    const p = this.#tail.then(() => this.#take(Math.max(1, maxRecords), signal));
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async #take(max: number, signal: AbortSignal | undefined): Promise<Lease | null> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) return null;
      const requeued = this.#requeued[0];
      if (requeued !== undefined) {
        if (requeued.records.length <= max) {
          this.#requeued.shift();
          return this.#hand(requeued.position, requeued.records);
        }
        this.#requeued[0] = { position: requeued.position + max, records: requeued.records.slice(max) };
        return this.#hand(requeued.position, requeued.records.slice(0, max));
      }
      if (this.#pending.length > 0) {
        const taken = this.#pending.splice(0, max);
        const position = this.#pendingFrom;
        this.#pendingFrom += taken.length;
        return this.#hand(position, taken);
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#wake = this.#wake.filter((w) => w !== wake);
          reject(signal!.reason);
        };
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#wake.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  #hand(position: number, taken: readonly BufferRecord[]): Lease {
    const lease: Lease = { id: this.#nextId++, records: taken };
    this.#outstanding.set(lease.id, { position, records: taken, lease });
    this.events.push({ op: 'lease', id: lease.id, seqs: taken.map(seqOf) });
    return lease;
  }

  ack(lease: Lease): void {
    this.#settle('ack', lease);
  }

  nack(lease: Lease): void {
    const held = this.#settle('nack', lease);
    if (held === undefined) return;
    let i = this.#requeued.length;
    while (i > 0 && this.#requeued[i - 1]!.position > held.position) i--;
    this.#requeued.splice(i, 0, { position: held.position, records: held.records });
    this.#wakeAll();
  }

  #settle(op: 'ack' | 'nack', lease: Lease): Queued | undefined {
    const held = this.#outstanding.get(lease.id);
    if (held === undefined || held.lease !== lease) {
      this.violations.push(`${op} of lease ${lease.id}, which is not outstanding`);
      return undefined;
    }
    this.#outstanding.delete(lease.id);
    this.events.push({ op, id: lease.id, seqs: lease.records.map(seqOf) });
    return held;
  }

  #wakeAll(): void {
    const waiters = this.#wake;
    this.#wake = [];
    for (const w of waiters) w();
  }
}

/** One call of `writeBatch`, settled by the test (or by the sink's `behaviour`). */
export interface SinkCall {
  readonly seqs: number[];
  /** Milliseconds since the sink was made, when the call came. */
  readonly at: number;
  settled: 'pending' | 'resolved' | 'rejected';
  resolve(): void;
  reject(err: unknown): void;
}

/** What an automatic sink does with a call: resolve, reject with the error, or leave it to the test. */
export type SinkBehaviour = (call: SinkCall, index: number) => 'resolve' | 'hold' | Error;

/**
 * A sink whose deliveries the test settles: each `writeBatch` is recorded as a `SinkCall` and stays
 * pending until `resolve`/`reject` (or settles at once by `behaviour`).
 */
export class FakeSink implements Sink<readonly BufferRecord[]> {
  readonly name: string;
  readonly calls: SinkCall[] = [];
  /** Positions of the records of every call that resolved, in the order they resolved. */
  readonly delivered: number[] = [];
  behaviour: SinkBehaviour;
  closed = false;
  /** The most calls pending at once. */
  maxPending = 0;
  readonly #t0 = performance.now();
  #callWaiters: { n: number; resolve: () => void }[] = [];

  constructor(name: string, behaviour: SinkBehaviour = () => 'hold') {
    this.name = name;
    this.behaviour = behaviour;
  }

  connect(): Promise<void> {
    return Promise.resolve();
  }

  writeBatch(batch: readonly BufferRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const call: SinkCall = {
        seqs: batch.map(seqOf),
        at: performance.now() - this.#t0,
        settled: 'pending',
        resolve: () => {
          if (call.settled !== 'pending') return;
          call.settled = 'resolved';
          this.delivered.push(...call.seqs);
          resolve();
        },
        reject: (err: unknown) => {
          if (call.settled !== 'pending') return;
          call.settled = 'rejected';
          reject(err);
        },
      };
      const index = this.calls.push(call) - 1;
      this.maxPending = Math.max(this.maxPending, this.pending.length);
      this.#callWaiters = this.#callWaiters.filter((w) => {
        if (this.calls.length < w.n) return true;
        w.resolve();
        return false;
      });
      const outcome = this.behaviour(call, index);
      if (outcome === 'resolve') call.resolve();
      else if (outcome !== 'hold') call.reject(outcome);
    });
  }

  get pending(): SinkCall[] {
    return this.calls.filter((c) => c.settled === 'pending');
  }

  /** Resolves once `n` calls were made. */
  waitForCalls(n: number): Promise<void> {
    if (this.calls.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#callWaiters.push({ n, resolve }));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  healthcheck(): Promise<HealthStatus> {
    return Promise.resolve({ ok: true });
  }
}

/**
 * A FakeSink that reports its service gone and back, as the Kafka producer pool does, for the
 * circuit's `whenUnreachable`/`whenReachable`.
 */
export class RecoveringFakeSink extends FakeSink implements RecoveringSink<readonly BufferRecord[]> {
  /** Absent with `reportsLoss: false`, like the storage writer, which only says when it is back. */
  readonly whenUnreachable?: () => Promise<void>;
  #reachable = true;
  #toReachable: (() => void)[] = [];
  #toUnreachable: (() => void)[] = [];

  constructor(name: string, behaviour?: SinkBehaviour, { reportsLoss = true } = {}) {
    super(name, behaviour);
    if (reportsLoss) {
      this.whenUnreachable = () =>
        this.#reachable ? new Promise((resolve) => this.#toUnreachable.push(resolve)) : Promise.resolve();
    }
  }

  override healthcheck(): Promise<HealthStatus> {
    return Promise.resolve(this.#reachable ? { ok: true } : { ok: false, detail: 'unreachable' });
  }

  whenReachable(): Promise<void> {
    if (this.#reachable) return Promise.resolve();
    return new Promise((resolve) => this.#toReachable.push(resolve));
  }

  /** How many callers wait for the service to come back. */
  get reachableWaiters(): number {
    return this.#toReachable.length;
  }

  setReachable(reachable: boolean): void {
    this.#reachable = reachable;
    const waiters = reachable ? this.#toReachable : this.#toUnreachable;
    for (const w of waiters.splice(0)) w();
  }
}

/** Lets every settled promise and its continuations run (the pump chains a few per delivery). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Polls until `check` holds; a failure names what was awaited. */
export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// Labels that say which component a series belongs to: the old per-family `sink` key and the
// component vocabulary's keys (issue 17). They are left out of the keys `seriesOf` returns, so a
// test reads `name{other="labels"}` whichever way the component is identified.
const IDENTITY_LABELS = new Set(['sink', 'component_id', 'component_kind', 'component_type']);

/**
 * Every series of the process registry that belongs to the component `id` (some identity label
 * equals it), keyed `metric_name{label="value",…}` without the identity labels, labels sorted.
 * Tests give each component a unique id, so values are what this test caused.
 */
export async function seriesOf(
  id: string,
  registry: Registry = metricsRegistry,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const labels = v.labels as Record<string, string | number>;
      if (!Object.entries(labels).some(([k, value]) => IDENTITY_LABELS.has(k) && value === id)) continue;
      const rest = Object.entries(labels)
        .filter(([k]) => !IDENTITY_LABELS.has(k))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, value]) => `${k}="${value}"`)
        .join(',');
      const name = (v as { metricName?: string }).metricName ?? metric.name;
      const key = rest === '' ? name : `${name}{${rest}}`;
      out[key] = (out[key] ?? 0) + v.value;
    }
  }
  return out;
}

let unique = 0;
/** A sink name no other test uses, so its series start at zero. */
export function uniqueName(prefix: string): string {
  unique++;
  return `${prefix}_${process.pid}_${unique}`;
}

/**
 * The pump's series as `seriesOf` keys them. One place to change when the metric names change: the
 * tests assert what is counted on each path, not how it is spelled.
 */
export const pumpSeries = {
  batches: (outcome: string) => `siem_pipeline_batches_total{outcome="${outcome}"}`,
  records: (outcome: string) => `siem_pipeline_records_total{outcome="${outcome}"}`,
  retries: (reason: string) => `siem_pipeline_retries_total{reason="${reason}"}`,
  inFlight: 'siem_pipeline_in_flight_batches',
  /** The sink component's series (issue 17): a lease given up on is that sink's discarded events. */
  discarded: (reason: string) =>
    `siem_component_discarded_events_total{intentional="false",reason="${reason}"}`,
  discardedAny: 'siem_component_discarded_events_total',
} as const;

/** The sum of the series whose key starts with `prefix` (a metric name: all its label sets). */
export function sumOf(series: Record<string, number>, prefix: string): number {
  let sum = 0;
  for (const [key, value] of Object.entries(series)) if (key.startsWith(prefix)) sum += value;
  return sum;
}

/** The circuit sink's series as `seriesOf` keys them. */
export const circuitSeries = {
  state: 'siem_pipeline_circuit_state',
  transitions: (to: string) => `siem_pipeline_circuit_transitions_total{to="${to}"}`,
  rejected: 'siem_pipeline_circuit_rejected_total',
} as const;
