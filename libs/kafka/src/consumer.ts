import { setTimeout as sleep } from 'node:timers/promises';
import { type BufferRecord, errorReason, isRetriable, type LoggerLike, NotConnectedError } from '@siem/core';
import { counter, gauge, RateLimitedLog } from '@siem/observability';
import rdkafka from 'node-rdkafka';
import { baseClientConfig } from './client-config.js';
import type { KafkaOptions } from './options.js';

const metrics = {
  consumed: counter({
    name: 'siem_kafka_consumed_records_total',
    help: 'Records fetched by the consumer group.',
    labelNames: ['topic'],
  }),
  committed: counter({
    name: 'siem_kafka_committed_batches_total',
    help: 'Batches whose offsets were committed after the handler stored them.',
  }),
  retries: counter({
    name: 'siem_kafka_consumer_retries_total',
    help: 'Batches retried in place because the handler failed with a retriable error, by reason.',
    labelNames: ['reason'],
  }),
  paused: gauge({
    name: 'siem_kafka_consumer_paused_ratio',
    help: '1 while the consumer is paused because its sink is unavailable.',
  }),
  lag: gauge({
    name: 'siem_kafka_consumer_lag_records',
    help: 'Records between the committed position and the end of each assigned partition.',
    labelNames: ['topic', 'partition'],
  }),
  rebalances: counter({
    name: 'siem_kafka_consumer_rebalances_total',
    help: 'Partition assignments and revocations.',
    labelNames: ['kind'],
  }),
};

interface InFlight {
  records: ConsumedRecord[];
  /** true once stored; false when abandoned because the consumer stops */
  done: Promise<boolean>;
}

/** A consumed record: the BufferRecord shape plus where it came from. */
export interface ConsumedRecord extends BufferRecord {
  topic: string;
  partition: number;
  offset: number;
}

export interface BatchConsumerOptions {
  kafka: KafkaOptions;
  groupId: string;
  topics: string[];
  /** Records per handler call. */
  batchMax: number;
  logger: LoggerLike;
  /**
   * Stores a batch. Resolves when it is stored: only then are its offsets committed. Rejecting with a
   * retriable error (service down, circuit open) pauses the partitions and retries the same batch
   * with back-off; any other rejection is the handler's own bug and stops the consumer, uncommitted.
   */
  handler: (records: ConsumedRecord[]) => Promise<void>;
  /**
   * Batches handed to the handler before the oldest is stored (default 1). With 2, the next batch is
   * fetched and decoded while the previous one is being written; offsets are still committed in
   * fetch order, each only once it and every batch before it are stored.
   */
  maxInFlight?: number;
  maxBackoffMs?: number;
  /** Called once if the consumer stops on its own (the handler failed with a non-retriable error). */
  onFatal?: (err: unknown) => void;
}

/**
 * A consumer-group member that processes batches at least once: offsets are committed only after
 * the handler resolved, so a crash or a rebalance re-delivers what was not stored (the storage
 * writes are idempotent, so re-delivery makes no duplicate rows). While the handler's service is
 * down, the assigned partitions are paused and the same batch is retried; polling continues so the
 * member stays in the group. Up to `maxInFlight` batches are in the handler at once; commits follow
 * fetch order.
 */
export class BatchConsumer {
  readonly #options: BatchConsumerOptions;
  readonly #logger: LoggerLike;
  readonly #log: RateLimitedLog;
  #consumer: rdkafka.KafkaConsumer | null = null;
  #running = false;
  #loop: Promise<void> | null = null;
  #lagTimer: NodeJS.Timeout | null = null;
  /** Batches failing with a retriable error right now; the partitions are paused while it is above 0. */
  #failing = 0;
  #paused: rdkafka.TopicPartition[] = [];

  constructor(options: BatchConsumerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'kafka-consumer', group: options.groupId });
    this.#log = new RateLimitedLog(this.#logger);
  }

  async start(): Promise<void> {
    const consumer = new rdkafka.KafkaConsumer(
      {
        ...baseClientConfig(this.#options.kafka, 'consumer'),
        'group.id': this.#options.groupId,
        'enable.auto.commit': false,
        'partition.assignment.strategy': 'cooperative-sticky',
        'fetch.wait.max.ms': 100,
        'fetch.max.bytes': 64 * 1024 * 1024,
        'max.partition.fetch.bytes': 8 * 1024 * 1024,
        'max.poll.interval.ms': 300_000,
        rebalance_cb: true,
        ...this.#options.kafka.librdkafka,
      } as rdkafka.ConsumerGlobalConfig,
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.on('rebalance', (err, assignment) => {
      // Cooperative rebalancing: hand over only what moves. Offsets of stored batches are already
      // committed; anything in flight on a revoked partition is re-delivered to its new owner.
      if (err.code === rdkafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
        metrics.rebalances.inc({ kind: 'assign' });
        consumer.incrementalAssign(assignment);
      } else if (err.code === rdkafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
        metrics.rebalances.inc({ kind: 'revoke' });
        consumer.incrementalUnassign(assignment);
      }
      this.#logger.info({ event: err.message, partitions: assignment.length }, 'rebalance');
    });
    consumer.on('event.error', (err) =>
      this.#log.warn(
        `client:${err.code}:${String(err.message).slice(0, 40)}`,
        { err: err.message },
        'kafka consumer error',
      ),
    );
    await new Promise<void>((resolve, reject) => {
      consumer.connect({ timeout: 30_000 }, (err) =>
        err ? reject(new NotConnectedError('kafka', { cause: err })) : resolve(),
      );
    });
    consumer.setDefaultConsumeTimeout(500);
    consumer.subscribe(this.#options.topics);
    this.#consumer = consumer;
    this.#running = true;
    this.#loop = this.#run().catch((err: unknown) => {
      this.#logger.error({ err }, 'consumer stopped');
      this.#options.onFatal?.(err);
    });
    this.#lagTimer = setInterval(() => this.#updateLag(), 10_000);
    this.#lagTimer.unref();
  }

  #consume(max: number): Promise<rdkafka.Message[]> {
    const consumer = this.#consumer!;
    return new Promise((resolve, reject) => {
      consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages)));
    });
  }

  async #run(): Promise<void> {
    const maxInFlight = Math.max(1, this.#options.maxInFlight ?? 1);
    const inFlight: InFlight[] = [];
    const carry: rdkafka.Message[] = [];
    while (this.#running) {
      if (inFlight.length >= maxInFlight) {
        if (!(await this.#settleOldest(inFlight, carry))) return;
        continue;
      }
      let messages: rdkafka.Message[];
      if (carry.length > 0) {
        messages = carry.splice(0);
      } else {
        try {
          messages = await this.#consume(this.#options.batchMax);
        } catch (err) {
          this.#log.warn('consume', { err }, 'consume failed');
          await sleep(500);
          continue;
        }
      }
      if (messages.length === 0) {
        // nothing new: finish what is in flight rather than hold its commit back
        if (inFlight.length > 0 && !(await this.#settleOldest(inFlight, carry))) return;
        continue;
      }
      const records: ConsumedRecord[] = messages.map((m) => ({
        key: m.key === null || m.key === undefined ? '' : String(m.key),
        value: m.value ?? Buffer.alloc(0),
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
      }));
      for (const r of records) metrics.consumed.inc({ topic: r.topic });
      const done = this.#handle(records);
      done.catch(() => undefined); // awaited in order by #settleOldest; never unhandled meanwhile
      inFlight.push({ records, done });
    }
    // Stopping: what is in the handler finishes and is committed, in order; a batch still waiting for
    // its service is abandoned uncommitted, and so is everything after it.
    while (inFlight.length > 0) {
      if (!(await this.#settleOldest(inFlight, carry))) return;
    }
  }

  /**
   * Waits for the oldest batch in flight and commits it. While the sink is unavailable, keeps
   * polling (what arrives waits in `carry`, after the batches in flight) so the group does not evict
   * this member. False when the batch was abandoned because the consumer is stopping.
   */
  async #settleOldest(inFlight: InFlight[], carry: rdkafka.Message[]): Promise<boolean> {
    const oldest = inFlight[0]!;
    let settled = false;
    void oldest.done.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled) {
      await Promise.race([oldest.done.catch(() => undefined), sleep(1_000, undefined, { ref: false })]);
      if (!settled && this.#failing > 0 && this.#running) {
        carry.push(...(await this.#consume(this.#options.batchMax).catch(() => [])));
      }
    }
    const stored = await oldest.done; // a non-retriable failure throws: the consumer stops uncommitted
    inFlight.shift();
    if (!stored) return false;
    this.#commit(oldest.records);
    return true;
  }

  /**
   * Hands one batch to the handler, retrying it with back-off while the handler fails with a
   * retriable error (the partitions are paused meanwhile). Resolves true once stored, false when the
   * consumer stops before it could be; rejects on a non-retriable error.
   */
  async #handle(records: ConsumedRecord[]): Promise<boolean> {
    let backoff = 200;
    let failing = false;
    try {
      for (;;) {
        try {
          await this.#options.handler(records);
          return true;
        } catch (err) {
          if (!isRetriable(err)) {
            this.#logger.error(
              { err },
              'batch handler failed with a non-retriable error; consumer stops uncommitted',
            );
            this.#running = false;
            throw err;
          }
          const reason = errorReason(err);
          metrics.retries.inc({ reason });
          this.#log.warn(
            `retry:${reason}`,
            { reason, records: records.length },
            'sink unavailable: partitions paused, batch retried',
          );
          if (!failing) {
            failing = true;
            this.#pauseOne();
          }
          await sleep(backoff);
          backoff = Math.min(backoff * 2, this.#options.maxBackoffMs ?? 5_000);
          if (!this.#running) return false;
        }
      }
    } finally {
      if (failing) this.#resumeOne();
    }
  }

  #pauseOne(): void {
    if (this.#failing++ > 0) return;
    const consumer = this.#consumer;
    if (consumer === null) return;
    // Partitions assigned while paused are not paused: what they deliver waits for the next round.
    this.#paused = consumer.assignments().map((a) => ({ topic: a.topic, partition: a.partition }));
    try {
      consumer.pause(this.#paused);
    } catch (err) {
      this.#log.warn('pause', { err }, 'pausing partitions failed');
    }
    metrics.paused.set(1);
  }

  #resumeOne(): void {
    if (--this.#failing > 0) return;
    const consumer = this.#consumer;
    const paused = this.#paused;
    this.#paused = [];
    metrics.paused.set(0);
    if (consumer === null || !this.#running) return;
    try {
      consumer.resume(paused);
    } catch (err) {
      this.#log.warn('resume', { err }, 'resuming partitions failed');
    }
    this.#logger.info({}, 'sink available again: partitions resumed');
  }

  #commit(records: ConsumedRecord[]): void {
    const next = new Map<string, rdkafka.TopicPartitionOffset>();
    for (const r of records) {
      const k = `${r.topic}\u0000${r.partition}`;
      const cur = next.get(k);
      if (cur === undefined || cur.offset < r.offset + 1) {
        next.set(k, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
      }
    }
    try {
      this.#consumer!.commit([...next.values()]);
      metrics.committed.inc();
    } catch (err) {
      // Partitions revoked meanwhile: their new owner re-reads from the last commit (idempotent writes).
      this.#log.warn('commit', { err }, 'offset commit failed');
    }
  }

  #updateLag(): void {
    const consumer = this.#consumer;
    if (consumer === null) return;
    const assignment = consumer.assignments();
    consumer.committed(assignment, 5_000, (err, committed) => {
      if (err) return;
      for (const c of committed) {
        try {
          const wm = consumer.getWatermarkOffsets(c.topic, c.partition);
          const position = c.offset >= 0 ? c.offset : wm.lowOffset;
          metrics.lag.set(
            { topic: c.topic, partition: String(c.partition) },
            Math.max(0, wm.highOffset - position),
          );
        } catch {
          /* no watermarks cached yet for this partition */
        }
      }
    });
  }

  /** Stops fetching, lets the batch in hand finish (its offsets are committed), then leaves the group. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#lagTimer !== null) clearInterval(this.#lagTimer);
    await this.#loop?.catch(() => undefined);
    const consumer = this.#consumer;
    this.#consumer = null;
    if (consumer === null) return;
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
