import {
  type BufferRecord,
  type HealthStatus,
  type LoggerLike,
  NotConnectedError,
  SiemError,
  type Sink,
} from '@siem/core';
import { ComponentMetrics, counter, gauge, histogram } from '@siem/observability';
import rdkafka from 'node-rdkafka';
import { baseClientConfig, type RdkafkaConfig } from './client-config.js';
import type { KafkaOptions } from './options.js';

const { CODES } = rdkafka;
const ERR = CODES.ERRORS;
/** librdkafka's text of ERR__ALL_BROKERS_DOWN, as node-rdkafka reports client errors. */
const ALL_BROKERS_DOWN = /all broker connections are down/i;

/**
 * The producer pool is the sink component `kafka` (type `kafka`) of the vocabulary: received = records
 * handed to `sendTo` (each attempt: a batch the pump retries is received again), sent = records Kafka
 * acknowledged, errors = records Kafka refused or failed (`error_code` = the reason below, stage
 * sending), discarded = records of a batch that can never go to their topic (`too_large`: dead-lettered
 * instead; `dead_letter_refused`: the dead-letter topic refused them too, lost). Below, what only Kafka
 * has: bytes and dead letters by topic and reason, queue waits, latency, broker reachability.
 */
export const KAFKA_SINK_REF = { id: 'kafka', kind: 'sink', type: 'kafka' } as const;

const metrics = {
  deliveredBytes: counter({
    name: 'siem_kafka_delivered_bytes_total',
    help: 'Value bytes of records acknowledged by Kafka, by topic.',
    labelNames: ['topic'],
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

/**
 * The librdkafka code of a delivery report's error. node-rdkafka hands reports over with librdkafka's
 * text (lower-cased, its origin cut off) and code -1; the text is err2str of the code or a more specific
 * message about the same condition.
 */
function codeOfReport(err: rdkafka.LibrdKafkaError): number | undefined {
  if (typeof err.code === 'number' && err.code !== -1) return err.code;
  const text = err.message;
  if (/too large/i.test(text)) return ERR.ERR_MSG_SIZE_TOO_LARGE;
  if (/timed out/i.test(text)) return ERR.ERR__MSG_TIMED_OUT;
  if (/unknown topic/i.test(text)) return ERR.ERR__UNKNOWN_TOPIC;
  if (/authoriz/i.test(text)) return ERR.ERR_TOPIC_AUTHORIZATION_FAILED;
  if (/fatal/i.test(text)) return ERR.ERR__FATAL;
  return undefined;
}

interface Failure {
  record: BufferRecord;
  code: number | undefined;
  message: string;
}

/** A delivery error librdkafka reported (only errors are reported: see the class comment). */
interface DeliveryError {
  topic: string;
  key: string | null;
  size: number;
  code: number | undefined;
  message: string;
}

/** One `sendTo` call waiting for, or taking part in, a round. */
interface Job {
  topic: string;
  records: readonly BufferRecord[];
  headers: ((record: BufferRecord) => rdkafka.MessageHeader[]) | undefined;
  /** Records librdkafka refused at once or reported failed. */
  failures: Failure[];
  /** An error reported for this job's topic that names no record of it: the whole batch is retried. */
  unattributed: { code: number | undefined; message: string } | null;
  settle: () => void;
}

/** A set of jobs produced together and flushed together; the delivery errors reported meanwhile. */
interface Round {
  jobs: Job[];
  errors: DeliveryError[];
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
 *
 * Delivery is confirmed by rounds, not by a report per record: node-rdkafka turns every delivery
 * report into a JS object (and every opaque into a V8 persistent handle), which cost more CPU per
 * event than the rest of the gateway (bench/results/gateway-comparison.md). librdkafka reports errors
 * only (`delivery.report.only.error`); the batches waiting when a round starts are produced together,
 * then flushed (`rd_kafka_flush` returns once every message is delivered or failed and its report
 * handed over), then the round waits until node-rdkafka has dispatched the reports already queued.
 * A batch whose topic saw no error in its round was delivered whole. An error fails every batch of
 * that topic in the round (retried whole: duplicates possible, counted by the pump as requeued), except
 * "too large", which is traced to its records by key and size and dead-lettered. Rounds never
 * overlap, so a report always belongs to the round in which it arrives.
 */
export class KafkaProducerPool implements Sink<readonly BufferRecord[]> {
  readonly name = KAFKA_SINK_REF.id;
  /** Its vocabulary series; the pump counts the batches it gives up on here too. */
  readonly component = new ComponentMetrics(KAFKA_SINK_REF);
  readonly #options: KafkaOptions;
  readonly #logger: LoggerLike;
  readonly #topic: string;
  readonly #dlqTopic: string;
  readonly #producers: rdkafka.Producer[] = [];
  #reachable = true;
  #probeTimer: NodeJS.Timeout | null = null;
  #waiting: Job[] = [];
  #round: Round | null = null;
  #running = false;
  /** Delivery reports dispatched so far: a round is settled once a turn of the loop adds none. */
  #reports = 0;
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
      'delivery.report.only.error': true,
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
    if (records.length === 0) return;
    let received = 0;
    for (const r of records) received += r.value.length;
    this.component.received(records.length, received);
    const started = process.hrtime.bigint();
    const job: Job = { topic, records, headers, failures: [], unattributed: null, settle: () => undefined };
    const settled = new Promise<void>((resolve) => {
      job.settle = resolve;
    });
    this.#waiting.push(job);
    if (!this.#running) {
      this.#running = true;
      void this.#runRounds();
    }
    await settled;
    metrics.batchLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    const tooLarge = job.failures.filter((f) => f.code === ERR.ERR_MSG_SIZE_TOO_LARGE);
    const retriable = job.failures.filter((f) => f.code !== ERR.ERR_MSG_SIZE_TOO_LARGE);
    if (retriable.length === 0 && job.unattributed === null) {
      let bytes = received;
      for (const f of tooLarge) bytes -= f.record.value.length;
      this.component.sent(records.length - tooLarge.length);
      metrics.deliveredBytes.inc({ topic }, bytes);
    }
    if (tooLarge.length > 0 && topic === this.#dlqTopic) {
      // The dead-letter topic refused a dead letter (its max.message.bytes is below the producer's):
      // sending it there again would loop. Counted and logged; the configuration needs fixing.
      this.component.discarded('dead_letter_refused', false, tooLarge.length);
      this.#logger.error(
        { records: tooLarge.length, topic, bytes: tooLarge.map((f) => f.record.value.length) },
        'the dead-letter topic refused records as too large: dropped; raise its max.message.bytes',
      );
    } else if (tooLarge.length > 0) {
      this.component.discarded('too_large', false, tooLarge.length);
      await this.#deadLetter(topic, tooLarge);
    }
    if (retriable.length > 0 || job.unattributed !== null) {
      const first = retriable[0] ?? job.unattributed!;
      const reason = reasonOf(first.code);
      throw new SiemError(
        'SIEM_ERR_KAFKA_DELIVERY',
        `records not delivered to ${topic}, the batch of ${records.length} is retried (${reason}: ${first.message})`,
        { details: { refused: retriable.length, total: records.length, reason } },
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
    const p = this.#options.producer;
    const limit = Math.min(p.max_message_bytes, p.queue_max_kbytes * 1024) - 4096;
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
    for (const p of producers) p.setPollInterval(0); // no poll may race the disconnect
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

  /** Runs rounds until no batch is waiting. */
  async #runRounds(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const round: Round = { jobs: this.#waiting.splice(0), errors: [] };
        this.#round = round;
        try {
          await this.#deliverRound(round);
        } catch (err) {
          this.#logger.error({ err }, 'kafka delivery round failed; its batches are retried');
          for (const j of round.jobs) j.unattributed ??= { code: undefined, message: String(err) };
        } finally {
          this.#round = null;
          for (const job of round.jobs) job.settle();
        }
      }
    } finally {
      // Cleared in the same turn as the last look at #waiting: a batch queued later starts a new run.
      this.#running = false;
    }
  }

  async #deliverRound(round: Round): Promise<void> {
    for (const job of round.jobs) {
      for (const record of job.records) {
        if (this.#producers.length === 0) {
          job.failures.push({ record, code: ERR.ERR__DESTROY, message: 'producer closed' });
          continue;
        }
        const producer = this.#pick(record.key);
        const headers = job.headers?.(record);
        if (!this.#produce(producer, job, record, headers))
          await this.#produceWhenRoom(producer, job, record, headers);
      }
    }
    const flushed = await this.#flushAll();
    // Reports librdkafka handed over before the flush returned may still wait in node-rdkafka's
    // dispatcher (it dispatches 100 per turn of the event loop): wait for two quiet turns.
    for (let quiet = 0; quiet < 2; ) {
      const before = this.#reports;
      await nextTurn();
      quiet = this.#reports === before ? quiet + 1 : 0;
    }
    this.#attribute(round, flushed);
  }

  /** Produces one record; false when the local queue is full (nothing else is left to retry). */
  #produce(
    producer: rdkafka.Producer,
    job: Job,
    record: BufferRecord,
    headers?: rdkafka.MessageHeader[],
  ): boolean {
    try {
      // No opaque (undefined, not null): a success makes no report, so an opaque would never be freed.
      producer.produce(job.topic, null, record.value, record.key, null, undefined, headers);
      return true;
    } catch (err) {
      const code = (err as rdkafka.LibrdKafkaError).code;
      if (code === ERR.ERR__QUEUE_FULL) {
        // A record larger than the whole local queue would wait for room forever: it can never fit.
        if (record.value.length <= this.#options.producer.queue_max_kbytes * 1024) return false;
        job.failures.push({
          record,
          code: ERR.ERR_MSG_SIZE_TOO_LARGE,
          message: 'larger than the local queue',
        });
        this.component.error('too_large', 'sending');
        return true;
      }
      this.component.error(reasonOf(code), 'sending');
      job.failures.push({ record, code, message: (err as Error).message });
      return true;
    }
  }

  /** Backpressure: waits for deliveries to make room in the local queue instead of failing the batch. */
  async #produceWhenRoom(
    producer: rdkafka.Producer,
    job: Job,
    record: BufferRecord,
    headers?: rdkafka.MessageHeader[],
  ): Promise<void> {
    do {
      metrics.queueFull.inc();
      await sleepMs(5);
      if (this.#producers.length === 0) {
        job.failures.push({ record, code: ERR.ERR__DESTROY, message: 'producer closed' });
        return;
      }
    } while (!this.#produce(producer, job, record, headers));
  }

  /**
   * Flushes every producer until nothing is left in flight. A flush holds a libuv worker thread, which
   * the buffer's file I/O shares: while brokers are slow or away it runs in slices of 250 ms with 50 ms
   * pauses, so even a pool of 4 never takes the whole default thread pool (4 threads) for good.
   * Messages stay in flight at most message.timeout.ms, then fail with a report. False when the
   * producers were closed first: what they still held is not known to be delivered.
   */
  async #flushAll(): Promise<boolean> {
    const flushOne = (p: rdkafka.Producer): Promise<boolean> =>
      new Promise((resolve) => {
        try {
          p.flush(250, (err) => {
            // A producer closed meanwhile may have dropped error reports not yet dispatched.
            if (!err) resolve(this.#producers.includes(p));
            else if (this.#producers.includes(p)) setTimeout(() => resolve(flushOne(p)), 50);
            else resolve(false);
          });
        } catch {
          resolve(false); // disconnected
        }
      });
    const results = await Promise.all([...this.#producers].map(flushOne));
    return results.length > 0 && results.every((ok) => ok);
  }

  /** Puts the round's delivery errors on its jobs; a round cut short by close fails every job. */
  #attribute(round: Round, flushed: boolean): void {
    let timedOut = false;
    let success = flushed;
    for (const e of round.errors) {
      if (e.code === ERR.ERR__MSG_TIMED_OUT) timedOut = true;
      const jobs = round.jobs.filter((j) => j.topic === e.topic);
      if (e.code === ERR.ERR_MSG_SIZE_TOO_LARGE) {
        const matches: Array<[Job, BufferRecord]> = [];
        for (const j of jobs)
          for (const r of j.records) if (r.key === e.key && r.value.length === e.size) matches.push([j, r]);
        if (matches.length > 0) {
          for (const [j, record] of matches)
            if (!j.failures.some((f) => f.record === record))
              j.failures.push({ record, code: e.code, message: e.message });
          continue;
        }
      }
      success = false;
      for (const j of jobs) j.unattributed ??= { code: e.code, message: e.message };
    }
    if (!flushed) {
      // Closed before the flush ended: what librdkafka still held is not known to be delivered.
      for (const j of round.jobs) j.unattributed ??= { code: ERR.ERR__DESTROY, message: 'producer closed' };
    }
    if (timedOut) this.#markUnreachable('delivery timed out');
    else if (success && round.jobs.length > 0 && !this.#reachable) this.#markReachable();
  }

  #onDelivery(err: rdkafka.LibrdKafkaError | null, report: rdkafka.DeliveryReport): void {
    this.#reports++;
    if (!err) return; // only errors are reported ('delivery.report.only.error')
    const code = codeOfReport(err);
    this.component.error(reasonOf(code), 'sending');
    const error: DeliveryError = {
      topic: report.topic,
      key: report.key === null || report.key === undefined ? null : String(report.key),
      size: report.size,
      code,
      message: err.message,
    };
    if (this.#round !== null) this.#round.errors.push(error);
    else
      this.#logger.error(
        { topic: error.topic, key: error.key, code: error.code, err: error.message },
        'kafka delivery error reported after its round was settled; the record may be lost',
      );
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
