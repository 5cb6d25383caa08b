import { randomUUID } from 'node:crypto';
import { NotConnectedError, SiemError } from '@siem/core';
import rdkafka from 'node-rdkafka';
import { baseClientConfig } from './client-config.js';
import type { KafkaOptions } from './options.js';
import { clusterMetadata } from './probe.js';

export interface TopicReaderOptions {
  kafka: KafkaOptions;
  topic: string;
  /** Start at the oldest record kept (else at the end: only what arrives from now on). */
  fromBeginning: boolean;
  /**
   * Join this consumer group and commit what was read. Without one, the reader assigns every
   * partition to itself and commits nothing, so no group is left behind on the brokers.
   */
  groupId: string | null;
  timeoutMs?: number;
}

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | null;
  key: Buffer | null;
  value: Buffer | null;
  /** Record headers as text (the project's headers are all text). */
  headers: Record<string, string>;
}

const OFFSET_BEGINNING = -2;
const OFFSET_END = -1;

function headersOf(m: rdkafka.Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of m.headers ?? []) {
    for (const [k, v] of Object.entries(h)) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

/**
 * Reads one topic for a person or a script (`siem consume`): not the normalizer's at-least-once
 * consumer, just the records in order per partition, from the beginning or from now on.
 */
export class TopicReader {
  readonly #o: TopicReaderOptions;
  #consumer: rdkafka.KafkaConsumer | null = null;

  constructor(o: TopicReaderOptions) {
    this.#o = o;
  }

  /** Connects and positions on every partition; SIEM_ERR_NOT_FOUND when the topic does not exist. */
  async open(): Promise<{ partitions: number }> {
    const timeoutMs = this.#o.timeoutMs ?? 5_000;
    const base = baseClientConfig(this.#o.kafka, 'consume');
    let partitions: number | undefined;
    try {
      partitions = (await clusterMetadata(base, timeoutMs)).topics.get(this.#o.topic);
    } catch (err) {
      throw new NotConnectedError('kafka', { cause: err });
    }
    if (partitions === undefined || partitions === 0)
      throw new SiemError('SIEM_ERR_NOT_FOUND', `topic ${this.#o.topic} does not exist`);
    const group = this.#o.groupId;
    const consumer = new rdkafka.KafkaConsumer(
      {
        ...base,
        // librdkafka wants a group id even for assigned partitions; unused (nothing joins or commits)
        'group.id': group ?? `siem-consume-${randomUUID()}`,
        'enable.auto.commit': group !== null,
        'enable.auto.offset.store': group !== null,
        'fetch.wait.max.ms': 100,
        log_level: 0,
        ...this.#o.kafka.librdkafka,
      } as rdkafka.ConsumerGlobalConfig,
      { 'auto.offset.reset': this.#o.fromBeginning ? 'earliest' : 'latest' },
    );
    consumer.on('event.error', () => undefined);
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: timeoutMs }, (err) =>
        err ? reject(new NotConnectedError('kafka', { cause: err })) : resolve(),
      ),
    );
    consumer.setDefaultConsumeTimeout(1000);
    this.#consumer = consumer;
    if (group !== null) consumer.subscribe([this.#o.topic]);
    else {
      const offset = this.#o.fromBeginning ? OFFSET_BEGINNING : OFFSET_END;
      consumer.assign(
        Array.from({ length: partitions }, (_, partition) => ({ topic: this.#o.topic, partition, offset })),
      );
    }
    return { partitions };
  }

  /** Up to `max` records (waits at most about a second when there are none). */
  read(max: number): Promise<ReadRecord[]> {
    const consumer = this.#consumer;
    if (consumer === null) return Promise.resolve([]);
    return new Promise((resolve, reject) =>
      consumer.consume(max, (err, messages) => {
        if (err) {
          reject(err);
          return;
        }
        resolve(
          messages.map((m) => ({
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp ?? null,
            key: m.key === undefined || m.key === null ? null : Buffer.from(m.key),
            value: m.value ?? null,
            headers: headersOf(m),
          })),
        );
      }),
    );
  }

  async close(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = null;
    if (consumer === null) return;
    await new Promise<void>((resolve) => {
      try {
        consumer.disconnect(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
