import {
  type BufferRecord,
  type HealthStatus,
  type LoggerLike,
  NotConnectedError,
  SiemError,
  type Sink,
} from '@siem/core';
import { counter, gauge, histogram } from '@siem/observability';
import rdkafka from 'node-rdkafka';
import { baseClientConfig, type RdkafkaConfig } from './client-config.js';
import type { KafkaOptions } from './options.js';

const { CODES } = rdkafka;
const ERR = CODES.ERRORS;
/** librdkafka's text of ERR__ALL_BROKERS_DOWN, as node-rdkafka reports client errors. */
const ALL_BROKERS_DOWN = /all broker connections are down/i;

const metrics = {
  delivered: counter({
    name: 'siem_kafka_delivered_records_total',
    help: 'Records acknowledged by Kafka (acks=all).',
    labelNames: ['topic'],
  }),
  deliveredBytes: counter({
    name: 'siem_kafka_delivered_bytes_total',
    help: 'Value bytes of records acknowledged by Kafka.',
    labelNames: ['topic'],
  }),
  deliveryErrors: counter({
    name: 'siem_kafka_delivery_errors_total',
    help: 'Records Kafka did not accept, by reason; retriable ones go back to the buffer.',
    labelNames: ['reason'],
  }),
  deadLettered: counter({
    name: 'siem_kafka_dead_letter_records_total',
    help: 'Records sent to the dead-letter topic, by reason.',
    labelNames: ['reason'],
  }),
  queueFull: counter({
    name: 'siem_kafka_queue_full_total',
    help: 'Times the local librdkafka queue was full and production waited for deliveries.',
  }),
  batchLatency: histogram({
    name: 'siem_kafka_delivery_latency_seconds',
    help: 'From handing a batch to librdkafka until its last delivery report.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  brokersReachable: gauge({
    name: 'siem_kafka_brokers_reachable_ratio',
    help: '1 when the brokers answer, 0 while librdkafka reports them all down.',
  }),
};

/** The reason label of a librdkafka error code (bounded: named codes only). */
function reasonOf(code: number | undefined): string {
  switch (code) {
    case ERR.ERR_MSG_SIZE_TOO_LARGE:
      return 'too_large';
    case ERR.ERR__MSG_TIMED_OUT:
      return 'timed_out';
    case ERR.ERR__QUEUE_FULL:
      return 'queue_full';
    case ERR.ERR__ALL_BROKERS_DOWN:
    case ERR.ERR__TRANSPORT:
      return 'unreachable';
    case ERR.ERR__FATAL:
      return 'fatal';
    case ERR.ERR_TOPIC_AUTHORIZATION_FAILED:
      return 'not_authorized';
    case ERR.ERR__UNKNOWN_TOPIC:
    case ERR.ERR_UNKNOWN_TOPIC_OR_PART:
      return 'unknown_topic';
    default:
      return 'other';
  }
}

interface Failure {
  record: BufferRecord;
  code: number | undefined;
  message: string;
}

/** Follows the delivery reports of one batch: O(1) work per report, one promise per batch. */
class BatchTracker {
  remaining: number;
  /** Delivered records and value bytes: metrics are updated once per batch, not per report. */
  delivered = 0;
  deliveredBytes = 0;
  readonly failures: Failure[] = [];
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(size: number) {
    this.remaining = size;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (size === 0) this.#resolve();
  }

  settle(): void {
    this.remaining--;
    if (this.remaining === 0) this.#resolve();
  }

  fail(record: BufferRecord, code: number | undefined, message: string): void {
    this.failures.push({ record, code, message });
    this.settle();
  }
}

interface Opaque {
  tracker: BatchTracker;
  record: BufferRecord;
}

export interface ProducerPoolOptions {
  kafka: KafkaOptions;
  logger: LoggerLike;
  /** Topic of the records; the raw topic of the configuration unless given. */
  topic?: string;
}

/**
 * The gateway's producers: idempotent (`acks=all`), zstd-compressed node-rdkafka producers that take
 * whole buffer leases. A record's key picks its producer, so one host's events stay in order through
 * one producer onto one partition. `writeBatch` resolves only when every record is acknowledged by
 * Kafka or — for a record Kafka can never take — is on the dead-letter topic; it rejects with a
 * retriable error when records could not be delivered, so the caller hands the lease back to the
 * buffer. A full local queue makes production wait for deliveries instead of throwing.
 */
export class KafkaProducerPool implements Sink<readonly BufferRecord[]> {
  readonly name = 'kafka';
  readonly #options: KafkaOptions;
  readonly #logger: LoggerLike;
  readonly #topic: string;
  readonly #dlqTopic: string;
  readonly #producers: rdkafka.Producer[] = [];
  #reachable = true;
  #probeTimer: NodeJS.Timeout | null = null;
  #queueWaiters: Array<() => void> = [];
  #enqueued: Promise<void> = Promise.resolve();
  #onUnreachable: Array<() => void> = [];
  #onReachable: Array<() => void> = [];

  constructor(options: ProducerPoolOptions) {
    this.#options = options.kafka;
    this.#logger = options.logger.child({ component: 'kafka-producer' });
    this.#topic = options.topic ?? options.kafka.topics.raw.name;
    this.#dlqTopic = options.kafka.topics.dlq.name;
    metrics.brokersReachable.set(1);
  }

  /** librdkafka settings of each producer: idempotence, acks=all, zstd, batching, local queue. */
  producerConfig(index: number): RdkafkaConfig {
    const p = this.#options.producer;
    return {
      ...baseClientConfig(this.#options, `producer-${index}`),
      'enable.idempotence': true,
      acks: 'all',
      'compression.codec': 'zstd',
      'linger.ms': p.linger_ms,
      'batch.size': p.batch_bytes,
      'batch.num.messages': p.batch_num_messages,
      'queue.buffering.max.messages': p.queue_max_messages,
      'queue.buffering.max.kbytes': p.queue_max_kbytes,
      'message.timeout.ms': p.message_timeout_ms,
      'message.max.bytes': p.max_message_bytes,
      dr_cb: true,
      ...this.#options.librdkafka,
    };
  }

  async connect(): Promise<void> {
    if (this.#producers.length > 0) return;
    const size = this.#options.producer.pool_size;
    for (let i = 0; i < size; i++) {
      const producer = new rdkafka.Producer(this.producerConfig(i) as rdkafka.ProducerGlobalConfig, {});
      producer.on('delivery-report', (err, report) => this.#onDelivery(err, report));
      producer.on('event.error', (err: rdkafka.LibrdKafkaError) => this.#onClientError(err));
      await new Promise<void>((resolve, reject) => {
        producer.connect({ timeout: 30_000 }, (err) => {
          if (err) reject(new NotConnectedError('kafka', { cause: err }));
          else resolve();
        });
      });
      producer.setPollInterval(5);
      this.#producers.push(producer);
    }
    this.#logger.info({ producers: size, topic: this.#topic }, 'producers connected');
  }

  get reachable(): boolean {
    return this.#reachable;
  }

  async writeBatch(records: readonly BufferRecord[]): Promise<void> {
    await this.sendTo(this.#topic, records);
  }

  /**
   * Produces records to any topic (the raw topic, the dead-letter topic, routing topics) with the same
   * guarantees as `writeBatch`: resolves when every record is acknowledged or dead-lettered.
   */
  async sendTo(
    topic: string,
    records: readonly BufferRecord[],
    headers?: (record: BufferRecord) => rdkafka.MessageHeader[],
  ): Promise<void> {
    if (this.#producers.length === 0) throw new NotConnectedError('kafka', { details: 'not connected' });
    if (!this.#reachable) throw new NotConnectedError('kafka', { details: 'brokers unreachable' });
    const started = process.hrtime.bigint();
    const tracker = new BatchTracker(records.length);
    // Batches enter librdkafka whole and in call order: a batch is enqueued only after the one before
    // it, so concurrent leases never interleave and each key keeps its order.
    const enqueued = this.#enqueued.then(() => this.#enqueue(topic, records, tracker, headers));
    this.#enqueued = enqueued.catch(() => undefined);
    await enqueued;
    await tracker.done;
    metrics.batchLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (tracker.delivered > 0) {
      metrics.delivered.inc({ topic }, tracker.delivered);
      metrics.deliveredBytes.inc({ topic }, tracker.deliveredBytes);
    }
    if (tracker.failures.length === 0) return;

    const tooLarge = tracker.failures.filter((f) => f.code === ERR.ERR_MSG_SIZE_TOO_LARGE);
    if (tooLarge.length > 0) await this.#deadLetter(topic, tooLarge);
    const retriable = tracker.failures.filter((f) => f.code !== ERR.ERR_MSG_SIZE_TOO_LARGE);
    if (retriable.length > 0) {
      const first = retriable[0]!;
      throw new SiemError(
        'SIEM_ERR_KAFKA_DELIVERY',
        `${retriable.length} of ${records.length} records not delivered to ${topic} (${reasonOf(first.code)}: ${first.message})`,
        { details: { failed: retriable.length, total: records.length, reason: reasonOf(first.code) } },
      );
    }
  }

  /** Sends records to the dead-letter topic with the reason in headers; the value is kept (or cut to fit). */
  async deadLetter(
    records: readonly BufferRecord[],
    reason: string,
    error: string,
    sourceTopic: string,
  ): Promise<void> {
    const limit = this.#options.producer.max_message_bytes - 4096;
    const fitted = records.map((r) =>
      r.value.length <= limit ? r : { key: r.key, value: r.value.subarray(0, limit) },
    );
    const originalSize = new Map(fitted.map((f, i) => [f, records[i]!.value.length]));
    await this.sendTo(this.#dlqTopic, fitted, (r): rdkafka.MessageHeader[] => [
      { 'siem-dlq-reason': reason },
      { 'siem-dlq-error': error.slice(0, 1000) },
      { 'siem-dlq-source-topic': sourceTopic },
      { 'siem-dlq-original-size': String(originalSize.get(r) ?? r.value.length) },
      { 'siem-dlq-truncated': String(r.value.length < (originalSize.get(r) ?? r.value.length)) },
    ]);
    metrics.deadLettered.inc({ reason }, records.length);
  }

  async healthcheck(): Promise<HealthStatus> {
    if (this.#producers.length === 0) return { ok: false, detail: 'not connected' };
    return this.#reachable ? { ok: true } : { ok: false, detail: 'brokers unreachable' };
  }

  /** Flushes what librdkafka still holds (up to `timeoutMs`), then disconnects every producer. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#stopProbe();
    const producers = this.#producers.splice(0);
    await Promise.all(
      producers.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.flush(timeoutMs, () => {
              p.disconnect(() => resolve());
            });
          }),
      ),
    );
    for (const w of this.#queueWaiters.splice(0)) w();
  }

  /** Resolves the next time the brokers are found unreachable (now, if they are). */
  whenUnreachable(): Promise<void> {
    if (!this.#reachable) return Promise.resolve();
    return new Promise((resolve) => this.#onUnreachable.push(resolve));
  }

  /** Resolves the next time the brokers are known reachable (now, if they are). */
  whenReachable(): Promise<void> {
    if (this.#reachable) return Promise.resolve();
    return new Promise((resolve) => this.#onReachable.push(resolve));
  }

  #pick(key: string): rdkafka.Producer {
    const n = this.#producers.length;
    if (n === 1) return this.#producers[0]!;
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
    return this.#producers[(h >>> 0) % n]!;
  }

  /** Hands a batch to librdkafka; synchronous while the local queue takes records. */
  async #enqueue(
    topic: string,
    records: readonly BufferRecord[],
    tracker: BatchTracker,
    headers?: (record: BufferRecord) => rdkafka.MessageHeader[],
  ): Promise<void> {
    for (const record of records) {
      if (this.#producers.length === 0) {
        tracker.fail(record, ERR.ERR__DESTROY, 'producer closed');
        continue;
      }
      const queued = this.#produce(this.#pick(record.key), topic, record, tracker, headers?.(record));
      if (queued !== null) await queued;
    }
  }

  /** Produces one record; returns null when done at once, a promise when it waits for queue room. */
  #produce(
    producer: rdkafka.Producer,
    topic: string,
    record: BufferRecord,
    tracker: BatchTracker,
    headers?: rdkafka.MessageHeader[],
  ): Promise<void> | null {
    const opaque: Opaque = { tracker, record };
    try {
      producer.produce(topic, null, record.value, record.key, null, opaque, headers);
      return null;
    } catch (err) {
      const code = (err as rdkafka.LibrdKafkaError).code;
      if (code !== ERR.ERR__QUEUE_FULL) {
        metrics.deliveryErrors.inc({ reason: reasonOf(code) });
        tracker.fail(record, code, (err as Error).message);
        return null;
      }
    }
    return this.#produceWhenRoom(producer, topic, record, tracker, headers);
  }

  async #produceWhenRoom(
    producer: rdkafka.Producer,
    topic: string,
    record: BufferRecord,
    tracker: BatchTracker,
    headers?: rdkafka.MessageHeader[],
  ): Promise<void> {
    const opaque: Opaque = { tracker, record };
    for (;;) {
      try {
        producer.produce(topic, null, record.value, record.key, null, opaque, headers);
        return;
      } catch (err) {
        const code = (err as rdkafka.LibrdKafkaError).code;
        if (code === ERR.ERR__QUEUE_FULL) {
          // Backpressure: wait for deliveries to make room instead of failing the batch.
          metrics.queueFull.inc();
          await new Promise<void>((resolve) => {
            this.#queueWaiters.push(resolve);
            setTimeout(resolve, 50).unref();
          });
          if (this.#producers.length === 0) {
            tracker.fail(record, ERR.ERR__DESTROY, 'producer closed');
            return;
          }
          continue;
        }
        metrics.deliveryErrors.inc({ reason: reasonOf(code) });
        tracker.fail(record, code, (err as Error).message);
        return;
      }
    }
  }

  #onDelivery(err: rdkafka.LibrdKafkaError | null, report: rdkafka.DeliveryReport): void {
    const opaque = report.opaque as Opaque | undefined;
    if (opaque === undefined) return;
    if (err) {
      metrics.deliveryErrors.inc({ reason: reasonOf(err.code) });
      if (err.code === ERR.ERR__MSG_TIMED_OUT) this.#markUnreachable('delivery timed out');
      opaque.tracker.fail(opaque.record, err.code, err.message);
    } else {
      const tracker = opaque.tracker;
      tracker.delivered++;
      tracker.deliveredBytes += opaque.record.value.length;
      if (!this.#reachable) this.#markReachable();
      tracker.settle();
    }
    if (this.#queueWaiters.length > 0) for (const w of this.#queueWaiters.splice(0)) w();
  }

  #onClientError(err: rdkafka.LibrdKafkaError): void {
    // node-rdkafka passes client errors with code -1 and librdkafka's text: match the text too.
    if (err.code === ERR.ERR__ALL_BROKERS_DOWN || ALL_BROKERS_DOWN.test(err.message)) {
      this.#markUnreachable(err.message);
    } else this.#logger.warn({ code: err.code, err: err.message }, 'kafka client error');
  }

  #markUnreachable(why: string): void {
    if (!this.#reachable) return;
    this.#reachable = false;
    metrics.brokersReachable.set(0);
    this.#logger.warn({ why }, 'kafka brokers unreachable');
    for (const r of this.#onUnreachable.splice(0)) r();
    this.#probeTimer = setInterval(() => this.#probe(), this.#options.producer.breaker.probe_interval_ms);
    this.#probeTimer.unref();
  }

  #markReachable(): void {
    if (this.#reachable) return;
    this.#reachable = true;
    metrics.brokersReachable.set(1);
    this.#stopProbe();
    this.#logger.info({}, 'kafka brokers reachable again');
    for (const r of this.#onReachable.splice(0)) r();
  }

  #probe(): void {
    const producer = this.#producers[0];
    if (producer === undefined) return;
    producer.getMetadata({ timeout: 2_000 }, (err, metadata) => {
      if (!err && metadata.brokers.length > 0) this.#markReachable();
    });
  }

  #stopProbe(): void {
    if (this.#probeTimer !== null) clearInterval(this.#probeTimer);
    this.#probeTimer = null;
  }

  async #deadLetter(topic: string, failures: Failure[]): Promise<void> {
    for (const f of failures) {
      await this.deadLetter([f.record], reasonOf(f.code), f.message, topic);
    }
    this.#logger.warn(
      { records: failures.length, topic: this.#dlqTopic },
      'records Kafka cannot take sent to the dead-letter topic',
    );
  }
}
