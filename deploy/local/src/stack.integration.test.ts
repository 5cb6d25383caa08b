import { randomUUID } from 'node:crypto';
import type { KafkaOptions } from '@siem/kafka';
import { ensureTopics, probeBrokers } from '@siem/kafka';
import rdkafka from 'node-rdkafka';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { stackUrls } from './paths.js';
import { stackStatus } from './stack.js';

const COUNT = 10_000;
const topic = `smoke.${randomUUID()}`;

interface Row {
  time: string;
  key: string;
  seq: number;
  partition: number;
  offset: number;
}

function produceAll(): Promise<{ delivered: number; errors: string[] }> {
  return new Promise((resolve, reject) => {
    const producer = new rdkafka.Producer(
      {
        'metadata.broker.list': stackUrls.kafkaBrokers,
        'enable.idempotence': true,
        'compression.type': 'zstd',
        'linger.ms': 5,
        dr_cb: true,
      },
      { acks: -1 },
    );
    let delivered = 0;
    const errors: string[] = [];
    producer.on('delivery-report', (err) => {
      if (err) errors.push(err.message);
      else delivered++;
      if (delivered + errors.length === COUNT) {
        producer.disconnect(() => resolve({ delivered, errors }));
      }
    });
    producer.on('event.error', reject);
    producer.setPollInterval(20);
    producer.connect({}, (err) => {
      if (err) return reject(err);
      for (let i = 0; i < COUNT; i++) {
        const value = JSON.stringify({ seq: i, at: new Date(Date.now() - i * 60_000).toISOString() });
        producer.produce(topic, null, Buffer.from(value), `host-${i % 17}`);
      }
    });
  });
}

function consumeAll(): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const consumer = new rdkafka.KafkaConsumer(
      {
        'metadata.broker.list': stackUrls.kafkaBrokers,
        'group.id': `smoke-${randomUUID()}`,
        'enable.auto.commit': false,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    const rows: Row[] = [];
    const deadline = setTimeout(() => {
      consumer.disconnect();
      reject(new Error(`consumed ${rows.length} of ${COUNT} within 60 s`));
    }, 60_000);
    const loop = () => {
      consumer.consume(1000, (err, messages) => {
        if (err) {
          clearTimeout(deadline);
          consumer.disconnect();
          return reject(err);
        }
        for (const m of messages) {
          const v = JSON.parse(m.value!.toString()) as { seq: number; at: string };
          rows.push({ time: v.at, key: String(m.key), seq: v.seq, partition: m.partition, offset: m.offset });
        }
        if (rows.length >= COUNT) {
          clearTimeout(deadline);
          consumer.commitSync(null);
          consumer.disconnect(() => resolve(rows));
        } else setImmediate(loop);
      });
    };
    consumer.on('ready', () => {
      consumer.subscribe([topic]);
      loop();
    });
    consumer.connect();
  });
}

async function store(url: string, table: string, rows: Row[], hypertable: boolean): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `create table ${table} (time timestamptz not null, key text not null, seq int not null, part int, off bigint)`,
    );
    if (hypertable) {
      const r = await client.query(
        `select create_hypertable('${table}', by_range('time', interval '1 day'))`,
      );
      expect(r.rowCount).toBe(1);
    }
    for (let i = 0; i < rows.length; i += 5000) {
      const slice = rows.slice(i, i + 5000);
      await client.query(
        `insert into ${table} select * from unnest($1::timestamptz[], $2::text[], $3::int[], $4::int[], $5::bigint[])`,
        [
          slice.map((r) => r.time),
          slice.map((r) => r.key),
          slice.map((r) => r.seq),
          slice.map((r) => r.partition),
          slice.map((r) => r.offset),
        ],
      );
    }
    const counted = await client.query(
      `select count(*)::int as n, count(distinct seq)::int as d from ${table}`,
    );
    expect(counted.rows[0].d).toBe(rows.length);
    if (hypertable) {
      const chunks = await client.query(
        `select count(*)::int as n from timescaledb_information.chunks where hypertable_name = $1`,
        [table],
      );
      expect(chunks.rows[0].n).toBeGreaterThan(1); // rows span days, so the hypertable really partitioned them
    }
    return counted.rows[0].n as number;
  } finally {
    await client.query(`drop table if exists ${table}`).catch(() => undefined);
    await client.end();
  }
}

describe('local stack smoke: Kafka → consumer group → TimescaleDB and PostgreSQL', () => {
  afterAll(async () => {
    const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': stackUrls.kafkaBrokers });
    await new Promise<void>((resolve) => admin.deleteTopic(topic, 10_000, () => resolve()));
    admin.disconnect();
  });

  it('reports all three services answering', async () => {
    const rows = await stackStatus();
    expect(rows.map((r) => [r.name, r.answers])).toEqual([
      ['kafka', true],
      ['postgres', true],
      ['timescaledb', true],
    ]);
    expect(await probeBrokers(stackUrls.kafkaBrokers)).toBe(true);
  });

  it(`moves ${COUNT} records end to end, counting every one`, async () => {
    const kafka = {
      brokers: stackUrls.kafkaBrokers,
      client_id: 'smoke',
      security_protocol: 'plaintext',
      sasl: {},
      ssl: {},
      librdkafka: {},
    } as unknown as KafkaOptions;
    const created = await ensureTopics(kafka, [
      { name: topic, partitions: 3, replicationFactor: 1, config: { 'compression.type': 'zstd' } },
    ]);
    expect(created).toEqual([topic]);

    const produced = await produceAll();
    expect(produced.errors).toEqual([]);
    expect(produced.delivered).toBe(COUNT);

    const rows = await consumeAll();
    expect(rows).toHaveLength(COUNT);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(COUNT);
    expect(new Set(rows.map((r) => r.partition)).size).toBe(3);

    const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
    expect(await store(stackUrls.timescale, `smoke_ts_${suffix}`, rows, true)).toBe(COUNT);
    expect(await store(stackUrls.postgres, `smoke_pg_${suffix}`, rows, false)).toBe(COUNT);
  });
});
