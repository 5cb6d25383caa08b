import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BufferRecord,
  errorReason,
  isRetriable,
  type Lease,
  type LeaseSource,
  type LoggerLike,
  type Sink,
} from '@siem/core';
import { ComponentMetrics, counter, gauge, RateLimitedLog } from '@siem/observability';

/**
 * A sink that reports the component vocabulary exposes its series, so that what the pump gives up on
 * is counted as that sink's discarded events, beside what the sink counts itself.
 */
export interface ComponentSink {
  readonly component?: ComponentMetrics;
}

/**
 * The pump's own view, per lease: what became of each batch it handed to a sink (delivered, requeued,
 * dropped). Records dropped here are also the sink's siem_component_discarded_events_total.
 */
const metrics = {
  batches: counter({
    name: 'siem_pipeline_batches_total',
    help: 'Buffer leases handed to a sink, by outcome (delivered, requeued, dropped).',
    labelNames: ['sink', 'outcome'],
  }),
  records: counter({
    name: 'siem_pipeline_records_total',
    help: 'Records handed to a sink, by outcome (delivered, requeued, dropped).',
    labelNames: ['sink', 'outcome'],
  }),
  retries: counter({
    name: 'siem_pipeline_retries_total',
    help: 'Failed deliveries handed back to the buffer, by reason.',
    labelNames: ['sink', 'reason'],
  }),
  inFlight: gauge({
    name: 'siem_pipeline_in_flight_batches',
    help: 'Leases being delivered right now.',
    labelNames: ['sink'],
  }),
};

export interface PumpOptions {
  /** Records per lease. */
  maxBatch: number;
  /** Leases delivered at once (pipelining). */
  maxInFlight: number;
  logger: LoggerLike;
  /** First back-off after a failed delivery; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

type LeaseState = 'in_flight' | 'acked' | 'nacked';

/**
 * Moves batches from the buffer to a sink. A lease is acked only when the sink resolved (delivered),
 * and nacked — handed back to the buffer, ahead of newer data — when it failed with a retriable error;
 * the pump then backs off before it hands the sink another lease. A failure that retrying cannot fix
 * is logged, counted and acked: the sink already dead-lettered what it could not take, and keeping the
 * lease would stop the pipeline forever.
 *
 * Ordering: records reach the sink in buffer order while deliveries succeed. When a delivery fails,
 * that lease is re-sent after the (at most `maxInFlight - 1`) leases already in flight, so per-host
 * order can be broken across a failure — never during normal operation.
 */
export class Pump {
  readonly #source: LeaseSource;
  readonly #sink: Sink<readonly BufferRecord[]>;
  readonly #component: ComponentMetrics;
  readonly #options: Required<PumpOptions>;
  readonly #log: RateLimitedLog;
  readonly #inFlight = new Map<Lease, { state: LeaseState; done: Promise<void> }>();
  readonly #abort = new AbortController();
  #slotWaiters: Array<() => void> = [];
  #backoff = 0;
  #handedBackUndelivered = 0;
  #loop: Promise<void> | null = null;

  constructor(source: LeaseSource, sink: Sink<readonly BufferRecord[]>, options: PumpOptions) {
    this.#source = source;
    this.#sink = sink;
    this.#component =
      (sink as ComponentSink).component ??
      new ComponentMetrics({ id: sink.name, kind: 'sink', type: sink.name });
    this.#options = { backoffMs: 100, maxBackoffMs: 5_000, ...options };
    this.#log = new RateLimitedLog(options.logger, 10_000);
  }

  start(): void {
    this.#loop ??= this.#run().catch((err: unknown) => {
      if (!this.#abort.signal.aborted) this.#options.logger.error({ err }, 'pump stopped unexpectedly');
    });
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      while (this.#inFlight.size >= this.#options.maxInFlight && !signal.aborted) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
      }
      if (signal.aborted) break;
      let lease: Lease | null;
      try {
        lease = await this.#source.next(this.#options.maxBatch, signal);
      } catch (err) {
        if (signal.aborted) break;
        throw err;
      }
      if (lease === null) break;
      // Back off here, after next(), not before it: a delivery that fails while this loop waits for a
      // slot or in next() has its lease nacked straight back to this call, which would re-send it at
      // once. A lease taken at stop goes back to the buffer undelivered.
      if (this.#backoff > 0) {
        await sleep(this.#backoff, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) {
          this.#source.nack(lease);
          this.#handedBackUndelivered++;
          break;
        }
      }
      this.#deliver(lease);
    }
  }

  #deliver(lease: Lease): void {
    const sink = this.#sink.name;
    const entry: { state: LeaseState; done: Promise<void> } = { state: 'in_flight', done: Promise.resolve() };
    this.#inFlight.set(lease, entry);
    metrics.inFlight.set({ sink }, this.#inFlight.size);
    entry.done = this.#sink.writeBatch(lease.records).then(
      () => {
        this.#backoff = 0;
        if (entry.state !== 'in_flight') return; // handed back at shutdown; the buffer owns it again
        entry.state = 'acked';
        this.#source.ack(lease);
        metrics.batches.inc({ sink, outcome: 'delivered' });
        metrics.records.inc({ sink, outcome: 'delivered' }, lease.records.length);
      },
      (err: unknown) => {
        if (entry.state !== 'in_flight') return;
        const reason = errorReason(err);
        if (isRetriable(err)) {
          entry.state = 'nacked';
          this.#source.nack(lease);
          this.#backoff = Math.min(
            this.#options.maxBackoffMs,
            this.#backoff === 0 ? this.#options.backoffMs : this.#backoff * 2,
          );
          metrics.retries.inc({ sink, reason });
          metrics.batches.inc({ sink, outcome: 'requeued' });
          metrics.records.inc({ sink, outcome: 'requeued' }, lease.records.length);
          this.#log.warn(
            `retry:${reason}`,
            { sink, reason, err },
            'delivery failed; batch handed back to the buffer',
          );
        } else {
          entry.state = 'acked';
          this.#source.ack(lease);
          metrics.batches.inc({ sink, outcome: 'dropped' });
          metrics.records.inc({ sink, outcome: 'dropped' }, lease.records.length);
          this.#component.discarded(reason, false, lease.records.length);
          this.#log.error(
            `drop:${reason}`,
            { sink, reason, err },
            'delivery failed permanently; batch dropped',
          );
        }
      },
    );
    entry.done.finally(() => {
      this.#inFlight.delete(lease);
      metrics.inFlight.set({ sink }, this.#inFlight.size);
      const waiter = this.#slotWaiters.shift();
      waiter?.();
    });
  }

  /**
   * Stops taking leases, waits up to `deadlineMs` for those in flight, then hands the rest back to
   * the buffer (which keeps them for the next start). Resolves with the number handed back.
   */
  async stop(deadlineMs: number): Promise<number> {
    this.#abort.abort();
    for (const w of this.#slotWaiters.splice(0)) w();
    await this.#loop;
    const pending = [...this.#inFlight.values()].map((e) => e.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    let handedBack = this.#handedBackUndelivered;
    for (const [lease, entry] of this.#inFlight) {
      if (entry.state !== 'in_flight') continue;
      entry.state = 'nacked';
      this.#source.nack(lease);
      handedBack++;
    }
    return handedBack;
  }
}
