import { randomBytes, randomUUID } from 'node:crypto';
import { checkAgainst } from '@siem/config';
import { type BufferRecord, isRetriable, type SiemError } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { COMPONENT_METRIC_NAMES, metricsRegistry, silentLogger } from '@siem/observability';
import { expectComponentSeriesMoved } from '@siem/observability/testing';
import rdkafka from 'node-rdkafka';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTopics } from './admin.js';
import { type KafkaOptions, kafkaOptionsSchema } from './options.js';
import { KAFKA_SINK_REF, KafkaProducerPool } from './producer.js';

const suffix = randomUUID().slice(0, 8);

/** The pool's vocabulary series (component kafka), summed over the series matching `where`. */
async function kafkaSeries(name: string, where: Record<string, string> = {}): Promise<number> {
  const { values } = await metricsRegistry.getSingleMetric(name)!.get();
  let sum = 0;
  for (const v of values) {
    if (v.labels.component_id !== KAFKA_SINK_REF.id) continue;
    if (Object.entries(where).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  }
  return sum;
}
const topics: string[] = [];

function options(overrides: Record<string, unknown> = {}): KafkaOptions {
  const o = {
    brokers: stackUrls.kafkaBrokers,
    topics: {
      raw: { name: `test.raw.${suffix}`, partitions: 4 },
      dlq: { name: `test.dlq.${suffix}`, partitions: 1 },
    },
    ...overrides,
  };
  expect(checkAgainst(kafkaOptionsSchema, o)).toEqual([]);
  return o as KafkaOptions;
}

async function consume(topic: string, count: number): Promise<rdkafka.Message[]> {
  const consumer = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': stackUrls.kafkaBrokers,
      'group.id': `t-${randomUUID()}`,
      'enable.auto.commit': false,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (err) => (err ? reject(err) : resolve())),
  );
  consumer.subscribe([topic]);
  const got: rdkafka.Message[] = [];
  const deadline = Date.now() + 60_000;
  while (got.length < count && Date.now() < deadline) {
    const batch = await new Promise<rdkafka.Message[]>((resolve, reject) =>
      consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))),
    );
    got.push(...batch);
  }
  // one more poll: anything beyond `count` would be a duplicate
  got.push(
    ...(await new Promise<rdkafka.Message[]>((resolve) =>
      consumer.consume(1000, (_e, m) => resolve(m ?? [])),
    )),
  );
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return got;
}

function records(n: number, hosts: number, size = 200): BufferRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `host-${i % hosts}`,
    value: Buffer.from(JSON.stringify({ seq: i, pad: 'x'.repeat(size) })),
  }));
}

/** Options for a raw/dead-letter topic pair of one partition each, created for this test alone. */
async function ownTopics(name: string, rawConfig: Record<string, string> = {}): Promise<KafkaOptions> {
  const o = options({
    topics: {
      raw: { name: `test.raw-${name}.${suffix}`, partitions: 1 },
      dlq: { name: `test.dlq-${name}.${suffix}`, partitions: 1 },
    },
  });
  topics.push(
    ...(await ensureTopics(o, [
      { name: o.topics.raw.name, partitions: 1, replicationFactor: 1, config: rawConfig },
      { name: o.topics.dlq.name, partitions: 1, replicationFactor: 1, config: {} },
    ])),
  );
  return o;
}

/** The one record on a dead-letter topic, with its headers as strings. */
async function deadLetter(
  topic: string,
): Promise<{ message: rdkafka.Message; headers: Record<string, string> }> {
  const dead = await consume(topic, 1);
  expect(dead).toHaveLength(1);
  const headers: Record<string, string> = {};
  for (const h of dead[0]!.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = String(v);
  return { message: dead[0]!, headers };
}

describe('KafkaProducerPool against the real broker', () => {
  const opts = options();
  afterAll(async () => {
    const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': stackUrls.kafkaBrokers });
    await Promise.all(
      topics.map((t) => new Promise<void>((resolve) => admin.deleteTopic(t, 10_000, () => resolve()))),
    );
    admin.disconnect();
  });

  it('delivers every record of every batch, keeping each host on one partition in order', async () => {
    const created = await ensureTopics(opts, [
      {
        name: opts.topics.raw.name,
        partitions: 4,
        replicationFactor: 1,
        config: { 'compression.type': 'zstd' },
      },
      { name: opts.topics.dlq.name, partitions: 1, replicationFactor: 1, config: {} },
    ]);
    topics.push(...created);
    const pool = new KafkaProducerPool({
      kafka: { ...opts, producer: { ...opts.producer, pool_size: 2 } },
      logger: silentLogger,
    });
    await pool.connect();
    const sentBefore = await kafkaSeries(COMPONENT_METRIC_NAMES.sentEvents);
    const all = records(20_000, 50);
    for (let i = 0; i < all.length; i += 5000) await pool.writeBatch(all.slice(i, i + 5000));
    expect(await pool.healthcheck()).toEqual({ ok: true });
    await pool.close();
    await expectComponentSeriesMoved(metricsRegistry, KAFKA_SINK_REF, { received: true, sent: true });
    expect((await kafkaSeries(COMPONENT_METRIC_NAMES.sentEvents)) - sentBefore).toBe(all.length);

    const got = await consume(opts.topics.raw.name, all.length);
    expect(got).toHaveLength(all.length); // every record, no duplicate
    const partitionOf = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (const m of got) {
      const key = String(m.key);
      const seq = (JSON.parse(m.value!.toString()) as { seq: number }).seq;
      if (!partitionOf.has(key)) partitionOf.set(key, m.partition);
      expect(m.partition).toBe(partitionOf.get(key));
      expect(seq).toBeGreaterThan(lastSeq.get(key) ?? -1);
      lastSeq.set(key, seq);
    }
    expect(partitionOf.size).toBe(50);
  });

  it('turns a full local queue into waiting, not an error', async () => {
    const small = { ...opts, producer: { ...opts.producer, queue_max_messages: 1000, linger_ms: 50 } };
    const pool = new KafkaProducerPool({ kafka: small, logger: silentLogger });
    await pool.connect();
    const batch = records(10_000, 7, 50); // ten times what the local queue holds
    await expect(pool.writeBatch(batch)).resolves.toBeUndefined();
    await pool.close();
  });

  it('sends records Kafka can never accept to the dead-letter topic with the reason', async () => {
    const tight = { ...opts, producer: { ...opts.producer, max_message_bytes: 64 * 1024 } };
    const pool = new KafkaProducerPool({ kafka: tight, logger: silentLogger });
    await pool.connect();
    const big: BufferRecord = { key: 'host-big', value: Buffer.alloc(200 * 1024, 0x61) };
    const where = { reason: 'too_large', intentional: 'false' };
    const discardedBefore = await kafkaSeries(COMPONENT_METRIC_NAMES.discardedEvents, where);
    await pool.writeBatch([...records(3, 1), big]);
    await pool.close();
    expect((await kafkaSeries(COMPONENT_METRIC_NAMES.discardedEvents, where)) - discardedBefore).toBe(1);
    const { message, headers } = await deadLetter(opts.topics.dlq.name);
    expect(headers['siem-dlq-reason']).toBe('too_large');
    expect(headers['siem-dlq-original-size']).toBe(String(200 * 1024));
    expect(headers['siem-dlq-truncated']).toBe('true');
    expect(String(message.key)).toBe('host-big');
  });

  it('traces a record the broker refuses as too large to the dead-letter topic and delivers the rest', async () => {
    // librdkafka lets a 100 kB record through (its own limit is 4 MiB); the topic takes 20 kB at most,
    // so the refusal comes back as a delivery report, not as an exception at produce time.
    const tight = await ownTopics('tight', { 'max.message.bytes': '20000' });
    const pool = new KafkaProducerPool({ kafka: tight, logger: silentLogger });
    await pool.connect();
    await pool.writeBatch([{ key: 'host-big', value: randomBytes(100_000) }]);
    await pool.writeBatch(records(5, 1));
    await pool.close();
    const { message, headers } = await deadLetter(tight.topics.dlq.name);
    expect(headers['siem-dlq-reason']).toBe('too_large');
    expect(headers['siem-dlq-original-size']).toBe('100000');
    expect(String(message.key)).toBe('host-big');
    expect(await consume(tight.topics.raw.name, 5)).toHaveLength(5);
  });

  it('hands a batch back as retriable when Kafka reports its records failed', async () => {
    const opts = options({ librdkafka: { 'topic.metadata.propagation.max.ms': 1000 } });
    const pool = new KafkaProducerPool({
      kafka: opts,
      logger: silentLogger,
      topic: `test.missing.${suffix}`,
    });
    await pool.connect();
    const where = { error_code: 'unknown_topic', stage: 'sending' };
    const errorsBefore = await kafkaSeries(COMPONENT_METRIC_NAMES.errors, where);
    const err = await pool.writeBatch(records(10, 2)).then(
      () => null,
      (e: unknown) => e,
    );
    await pool.close();
    expect((await kafkaSeries(COMPONENT_METRIC_NAMES.errors, where)) - errorsBefore).toBeGreaterThan(0);
    expect(err).not.toBeNull();
    expect(String(err)).toMatch(/unknown_topic/);
    expect(isRetriable(err)).toBe(true);
    expect((err as SiemError).details).toMatchObject({ total: 10, reason: 'unknown_topic' });
  });

  it('dead-letters a record larger than the whole local queue instead of waiting for room forever', async () => {
    const small = await ownTopics('queue');
    // The local queue holds 1 MiB; librdkafka would take a 2 MiB record (its limit is 4 MiB) if it fit.
    const pool = new KafkaProducerPool({
      kafka: { ...small, producer: { ...small.producer, queue_max_kbytes: 1024 } },
      logger: silentLogger,
    });
    await pool.connect();
    await pool.writeBatch([
      ...records(2, 1),
      { key: 'host-huge', value: Buffer.alloc(2 * 1024 * 1024, 0x62) },
    ]);
    await pool.close();
    const { message, headers } = await deadLetter(small.topics.dlq.name);
    expect(headers['siem-dlq-reason']).toBe('too_large');
    expect(headers['siem-dlq-truncated']).toBe('true');
    expect(message.value!.length).toBe(1024 * 1024 - 4096);
    expect(await consume(small.topics.raw.name, 2)).toHaveLength(2);
  });
});
