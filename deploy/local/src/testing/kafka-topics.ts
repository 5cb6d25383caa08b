/**
 * Kafka for integration tests, with plain node-rdkafka clients (not the code under test): topics
 * created, filled, read back to their end offsets, and the offsets a consumer group committed.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import rdkafka from 'node-rdkafka';
import { waitUntil } from './wait.js';

function admin(brokers: string): rdkafka.IAdminClient {
  return rdkafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'siem-test' });
}

export async function createTopics(
  brokers: string,
  topics: ReadonlyArray<{ name: string; partitions: number }>,
): Promise<void> {
  const a = admin(brokers);
  try {
    for (const t of topics) {
      await new Promise<void>((resolve, reject) =>
        a.createTopic({ topic: t.name, num_partitions: t.partitions, replication_factor: 1 }, 30_000, (e) =>
          e && e.code !== 36 ? reject(e) : resolve(),
        ),
      );
    }
  } finally {
    a.disconnect();
  }
}

export async function deleteTopics(brokers: string, topics: readonly string[]): Promise<void> {
  const a = admin(brokers);
  await Promise.all(
    topics.map((t) => new Promise<void>((resolve) => a.deleteTopic(t, 10_000, () => resolve()))),
  );
  a.disconnect();
}

/** Names of the existing topics that start with `prefix`. */
export async function listTopics(brokers: string, prefix: string): Promise<string[]> {
  return withProducer(brokers, async (p) => {
    const md = await new Promise<rdkafka.Metadata>((resolve, reject) =>
      p.getMetadata({ timeout: 10_000 }, (e, m) => (e ? reject(e) : resolve(m))),
    );
    return md.topics.map((t) => t.name).filter((n) => n.startsWith(prefix));
  });
}

async function withProducer<T>(
  brokers: string,
  fn: (p: rdkafka.Producer) => Promise<T>,
  extra: rdkafka.ProducerGlobalConfig = {},
): Promise<T> {
  const p = new rdkafka.Producer({
    'metadata.broker.list': brokers,
    'client.id': 'siem-test',
    ...extra,
  });
  await new Promise<void>((resolve, reject) =>
    p.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
  );
  try {
    return await fn(p);
  } finally {
    await new Promise<void>((resolve) => p.disconnect(() => resolve()));
  }
}

export interface OutRecord {
  key: string;
  value: Buffer;
  /** A fixed partition; librdkafka's partitioner on the key when absent. */
  partition?: number;
}

/**
 * Produces records (acks=all, idempotent) and resolves once every one is acknowledged, in order per
 * partition. Throws if any delivery failed.
 */
export function produceRecords(brokers: string, topic: string, records: readonly OutRecord[]): Promise<void> {
  return withProducer(
    brokers,
    async (p) => {
      let pending = records.length;
      const errors: string[] = [];
      const done = new Promise<void>((resolve) => {
        if (pending === 0) resolve();
        p.on('delivery-report', (err) => {
          if (err) errors.push(err.message);
          if (--pending === 0) resolve();
        });
      });
      p.setPollInterval(10);
      for (const r of records) {
        for (;;) {
          try {
            p.produce(topic, r.partition ?? null, r.value, r.key, null);
            break;
          } catch (err) {
            if ((err as rdkafka.LibrdKafkaError).code !== rdkafka.CODES.ERRORS.ERR__QUEUE_FULL) throw err;
            await sleep(20);
          }
        }
      }
      await done;
      if (errors.length > 0) throw new Error(`${errors.length} records not delivered: ${errors[0]}`);
    },
    { dr_cb: true, 'enable.idempotence': true, 'linger.ms': 5, 'compression.codec': 'zstd' },
  );
}

/** Partition end offsets (high watermarks) of a topic, by partition number. */
export function endOffsets(brokers: string, topic: string): Promise<number[]> {
  return withProducer(brokers, async (p) => {
    const md = await new Promise<rdkafka.Metadata>((resolve, reject) =>
      p.getMetadata({ topic, timeout: 10_000 }, (e, m) => (e ? reject(e) : resolve(m))),
    );
    const t = md.topics.find((x) => x.name === topic);
    if (t === undefined || t.partitions.length === 0) return [];
    const ids = t.partitions.map((x) => x.id).sort((a, b) => a - b);
    return Promise.all(
      ids.map(
        (partition) =>
          new Promise<number>((resolve, reject) =>
            p.queryWatermarkOffsets(topic, partition, 10_000, (e, o) =>
              e ? reject(e) : resolve(o.highOffset),
            ),
          ),
      ),
    );
  });
}

async function withConsumer<T>(
  brokers: string,
  groupId: string,
  fn: (c: rdkafka.KafkaConsumer) => Promise<T>,
): Promise<T> {
  const c = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers,
      'group.id': groupId,
      'enable.auto.commit': false,
      'fetch.wait.max.ms': 50,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    c.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
  );
  try {
    return await fn(c);
  } finally {
    await new Promise<void>((resolve) => c.disconnect(() => resolve()));
  }
}

/** The offsets a consumer group has committed on each partition of `topic` (-1001: none yet). */
export function committedOffsets(
  brokers: string,
  groupId: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  // A client with the group's id that never subscribes does not join the group: it only reads.
  return withConsumer(brokers, groupId, async (c) => {
    const asked = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    const got = await new Promise<rdkafka.TopicPartitionOffset[]>((resolve, reject) =>
      c.committed(asked, 10_000, (e, tp) => (e ? reject(e) : resolve(tp))),
    );
    return asked.map((a) => got.find((g) => g.partition === a.partition)?.offset ?? -1001);
  });
}

/** Every record of the topic from the beginning to its current end offsets, headers included. */
export async function readTopic(brokers: string, topic: string): Promise<rdkafka.Message[]> {
  const ends = await endOffsets(brokers, topic);
  const total = ends.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  return withConsumer(brokers, `siem-test-${randomUUID()}`, async (consumer) => {
    consumer.assign(ends.map((_, partition) => ({ topic, partition, offset: 0 })));
    const got: rdkafka.Message[] = [];
    const seen = ends.map(() => 0);
    const deadline = Date.now() + 120_000;
    while (seen.some((n, i) => n < ends[i]!) && Date.now() < deadline) {
      const batch = await new Promise<rdkafka.Message[]>((resolve, reject) =>
        consumer.consume(5000, (e, m) => (e ? reject(e) : resolve(m))),
      );
      for (const m of batch) {
        if (m.offset >= ends[m.partition]!) continue;
        got.push(m);
        seen[m.partition] = m.offset + 1;
      }
    }
    if (got.length !== total) throw new Error(`read ${got.length} of ${total} records of ${topic}`);
    return got;
  });
}

/** A header of a consumed record as text (node-rdkafka hands header values over as Buffers). */
export function recordHeader(m: rdkafka.Message, name: string): string | undefined {
  for (const h of m.headers ?? []) {
    if (name in h) return String(h[name]);
  }
  return undefined;
}

/** Waits until the topic holds at least `count` records and stops growing for `quietMs`. */
export async function waitForRecords(
  brokers: string,
  topic: string,
  count: number,
  timeoutMs = 120_000,
  quietMs = 2_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const total = (await endOffsets(brokers, topic)).reduce((a, b) => a + b, 0);
    if (total !== last) {
      last = total;
      since = Date.now();
    }
    if (total >= count && Date.now() - since >= quietMs) return total;
    if (Date.now() > deadline) return total;
    await sleep(500);
  }
}

/**
 * Waits until the consumer group has committed every partition of `topic` up to its end offset (`ends`,
 * by partition; a partition that never held a record has nothing committed).
 */
export function waitForCommitted(
  brokers: string,
  group: string,
  topic: string,
  ends: readonly number[],
  timeoutMs = 120_000,
): Promise<number[]> {
  return waitUntil(
    `offsets of ${group} committed to the end of every partition of ${topic}`,
    async () => {
      const committed = await committedOffsets(brokers, group, topic, ends.length);
      return committed.every((c, i) => c === ends[i] || (ends[i] === 0 && c < 0)) ? committed : undefined;
    },
    timeoutMs,
  );
}
