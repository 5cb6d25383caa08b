/**
 * The normalizer end to end — Kafka → BatchConsumer → NormalizingSink (decode, normalize) → EventWriter
 * → PostgreSQL 15, the same classes and settings as the normalizer role — in rows/s, against the
 * writer's own figure on the same rows and the same database: EventWriter alone writing the rows the
 * normalizers make of the same records, one batch at a time as the consumer hands them over (and two
 * at a time, the writer's best). The issue's goal: consumer and normalization cost ≤ 20 % of the
 * writer's rate.
 *
 * The role keeps two batches in flight (the next one is fetched and normalized while the previous one
 * is written); the same run with one batch in flight shows the serial cost. Where the time goes is
 * measured in the same run: the Kafka consumer alone (a handler that does nothing), decode +
 * normalize alone (no I/O), and, with one batch in flight, the share of wall time spent in the
 * writer, in decode + normalize, and outside the handler (fetching, committing).
 *
 * The records are what a gateway produces: syslog lines (sshd, sudo, CEF, FortiGate) with the header
 * parsed by the gateway's own parser, and NXLog Windows logons, with event times spread over 20 hours,
 * encoded with RawEventEncoder and produced by the gateway's KafkaProducerPool to a topic of their own.
 *
 *   npm run bench -- runtime/normalizer-e2e     (SIEM_BENCH_ROWS, default 200 000; SIEM_BENCH_ROUNDS, default 2)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BufferRecord,
  decodeRawEvent,
  type NormalizedEvent,
  RawEventEncoder,
  type Sink,
  type SourceInfo,
} from '@siem/core';
import { BatchConsumer, type ConsumedRecord, ensureTopics, KafkaProducerPool } from '@siem/kafka';
import { stackUrls } from '@siem/local-stack';
import { normalizeAll } from '@siem/normalize';
import { type BenchRow, createLogger, writeBenchReport } from '@siem/observability';
import { createStorage, type Storage } from '@siem/storage';
import { parseSyslogHeader } from '@siem/syslog';
import rdkafka from 'node-rdkafka';
import pg from 'pg';
import { loadRootConfig } from '../src/config-schema.js';
import { NormalizingSink } from '../src/normalizing-sink.js';

const N = Number(process.env.SIEM_BENCH_ROWS ?? 200_000);
const ROUNDS = Number(process.env.SIEM_BENCH_ROUNDS ?? 2);
const PARTITIONS = 6;
/** BatchConsumer maxInFlight of the normalizer role (apps/normalizer). */
const ROLE_IN_FLIGHT = 2;
const e2eCase = (inFlight: number) =>
  inFlight === ROLE_IN_FLIGHT
    ? `normalizer end to end, ${inFlight} batches in flight (the role)`
    : `normalizer end to end, ${inFlight} batch${inFlight > 1 ? 'es' : ''} in flight`;
const logger = createLogger({ level: 'warn', name: 'bench' });

// --- corpus

/** A small deterministic PRNG (mulberry32), so every run sends the same records. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const windowsTemplate = JSON.parse(
  readFileSync(new URL('../../normalize/src/fixtures/windows/nxlog-4624.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

interface Corpus {
  records: BufferRecord[];
  kinds: Record<string, number>;
  avgBytes: number;
}

function corpus(n: number): Corpus {
  const rnd = prng(0x5eed);
  const now = Date.now();
  const hosts = Array.from({ length: 64 }, (_, i) => `host-${i}`);
  const source = (i: number, adapter: string): SourceInfo => ({
    adapter,
    transport: 'tcp',
    peerAddress: `10.1.${i >> 8}.${i & 255}`,
    peerPort: 40000 + i,
    tls: null,
  });
  const syslogEnc = hosts.map((_, i) => new RawEventEncoder(source(i, 'syslog_tcp'), 'default'));
  const winEnc = hosts.map((_, i) => new RawEventEncoder(source(i, 'windows_events'), 'default'));
  const kinds: Record<string, number> = {};
  const records: BufferRecord[] = new Array(n);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const h = Math.floor(rnd() * hosts.length);
    const host = hosts[h]!;
    const t = new Date(now - Math.floor(rnd() * 20 * 3_600_000));
    const iso = t.toISOString();
    const ip = `198.51.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
    const port = 1024 + Math.floor(rnd() * 60000);
    const user = `user${Math.floor(rnd() * 5000)}`;
    const r = rnd();
    let kind: string;
    let payload: Buffer;
    let windows = false;
    if (r < 0.3) {
      kind = 'sshd';
      const ok = rnd() < 0.5;
      payload = Buffer.from(
        `<38>1 ${iso} ${host} sshd ${1000 + h} - - ${ok ? 'Accepted publickey' : 'Failed password'} for ${user} from ${ip} port ${port} ssh2`,
      );
    } else if (r < 0.45) {
      kind = 'sudo';
      const stamp = `${MONTHS[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2, ' ')} ${iso.slice(11, 19)}`;
      payload = Buffer.from(
        `<85>${stamp} ${host} sudo:    ${user} : TTY=pts/${h % 8} ; PWD=/srv/${user} ; USER=root ; COMMAND=/usr/bin/systemctl restart app${i % 40}`,
      );
    } else if (r < 0.6) {
      kind = 'cef';
      payload = Buffer.from(
        `<134>1 ${iso} ${host} ids - - - CEF:0|Security|threatmanager|1.0|${100 + (i % 50)}|worm stopped|${i % 11}|src=${ip} spt=${port} dst=10.0.${h}.${i % 250} dpt=443 act=blocked`,
      );
    } else if (r < 0.8) {
      kind = 'fortigate';
      payload = Buffer.from(
        `<189>date=${iso.slice(0, 10)} time=${iso.slice(11, 19)} tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=${ip} srcport=${port} srcintf="port2" dstip=172.16.${h}.${i % 250} dstport=443 dstintf="port1" sessionid=${i} proto=6 action="${rnd() < 0.8 ? 'accept' : 'deny'}" policyid=${i % 20} service="HTTPS" duration=${i % 300} sentbyte=${i % 9000} rcvdbyte=${i % 70000} sentpkt=${i % 90} rcvdpkt=${i % 700}`,
      );
    } else {
      kind = 'windows';
      windows = true;
      const ev = {
        ...windowsTemplate,
        EventTime: iso,
        EventReceivedTime: iso,
        Hostname: `WIN-${host}`,
        RecordNumber: i,
        TargetUserName: user,
        IpAddress: ip,
        IpPort: String(port),
      };
      payload = Buffer.from(JSON.stringify(ev));
    }
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const receivedAtMs = t.getTime() + 5;
    const value = windows
      ? winEnc[h]!.encode({
          receivedAtMs,
          sourceType: 'windows',
          syslog: null,
          marks: null,
          parseError: null,
          originalSize: payload.length,
          payload,
        })
      : (() => {
          // the header as the gateway's listeners parse it
          const parsed = parseSyslogHeader(payload, { receivedAtMs });
          return syslogEnc[h]!.encode({
            receivedAtMs,
            sourceType: 'syslog',
            syslog: parsed.header,
            marks: parsed.parseError === null ? null : ['parse_error'],
            parseError: parsed.parseError,
            originalSize: payload.length,
            payload,
          });
        })();
    records[i] = { key: windows ? `WIN-${host}` : host, value };
    bytes += value.length;
  }
  return { records, kinds, avgBytes: Math.round(bytes / n) };
}

// --- helpers

function hr(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A sink in front of the writer that adds up the time spent writing. */
class TimedWriter implements Sink<NormalizedEvent[]> {
  readonly name = 'storage';
  ms = 0;
  constructor(readonly inner: Sink<NormalizedEvent[]>) {}
  connect() {
    return this.inner.connect();
  }
  healthcheck() {
    return this.inner.healthcheck();
  }
  close() {
    return Promise.resolve();
  }
  async writeBatch(rows: NormalizedEvent[]): Promise<void> {
    const t = hr();
    try {
      await this.inner.writeBatch(rows);
    } finally {
      this.ms += hr() - t;
    }
  }
}

interface ConsumeRun {
  /** from start() to the last record handled */
  totalMs: number;
  /** from the first handler call to the last record handled */
  steadyMs: number;
  handlerMs: number;
  batches: number;
}

/** Runs a BatchConsumer of a new group over the whole topic until `n` records were handled. */
async function consumeAll(
  config: ReturnType<typeof loadRootConfig>,
  topic: string,
  n: number,
  handler: (records: ConsumedRecord[]) => Promise<void>,
  maxInFlight = 1,
): Promise<ConsumeRun> {
  let handled = 0;
  let first = 0;
  let handlerMs = 0;
  let batches = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const consumer = new BatchConsumer({
    kafka: config.kafka,
    groupId: `bench-normalizer-${randomUUID()}`,
    topics: [topic],
    batchMax: config.normalizer.batch_max_records,
    maxInFlight,
    logger,
    handler: async (records) => {
      const t = hr();
      if (first === 0) first = t;
      await handler(records);
      handlerMs += hr() - t;
      batches++;
      handled += records.length;
      if (handled >= n) done();
    },
  });
  const started = hr();
  await consumer.start();
  await finished;
  const end = hr();
  await consumer.stop();
  return { totalMs: end - started, steadyMs: end - first, handlerMs, batches };
}

async function produce(config: ReturnType<typeof loadRootConfig>, topic: string, records: BufferRecord[]) {
  const producer = new KafkaProducerPool({ kafka: config.kafka, logger, topic });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 10_000) await producer.writeBatch(records.slice(i, i + 10_000));
  } finally {
    await producer.close();
  }
}

function deleteTopic(brokers: string, topic: string): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'bench' });
  return new Promise<void>((resolve) =>
    admin.deleteTopic(topic, 10_000, () => {
      admin.disconnect();
      resolve();
    }),
  );
}

// --- the run

const dbName = `siem_bench_norm_${Date.now().toString(36)}`;
const adminUrl = stackUrls.postgres;
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${dbName}`;
const topic = `bench.normalizer.raw.${randomUUID().slice(0, 8)}`;
const dataDir = mkdtempSync(join(tmpdir(), 'siem-bench-norm-'));
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
// the role's configuration, defaults but for where things are
const config = loadRootConfig({
  env: {
    SIEM_DATA_DIR: dataDir,
    SIEM_KAFKA__BROKERS: stackUrls.kafkaBrokers,
    SIEM_KAFKA__TOPICS__RAW__NAME: topic,
    SIEM_KAFKA__TOPICS__RAW__PARTITIONS: String(PARTITIONS),
    SIEM_STORAGE__DATABASE_URL: dbUrl.toString(),
    SIEM_STORAGE__TIERS__ENABLED: 'false',
  },
});
let storage: Storage | null = null;
const rows: BenchRow[] = [];
try {
  process.stdout.write(`corpus: ${N} records… `);
  const c = corpus(N);
  process.stdout.write(`${c.avgBytes} bytes on average ${JSON.stringify(c.kinds)}\n`);
  await ensureTopics(config.kafka, [
    { name: topic, partitions: PARTITIONS, replicationFactor: 1, config: { 'compression.type': 'zstd' } },
  ]);
  const t0 = hr();
  await produce(config, topic, c.records);
  process.stdout.write(`produced to ${topic} in ${((hr() - t0) / 1000).toFixed(1)} s\n`);

  storage = createStorage(config.storage, { url: dbUrl.toString(), dataDir, logger });
  await storage.start();
  const writer = storage.writer;
  const pool = storage.pool;
  const reset = async () => {
    await pool.query('truncate siem.events');
    await pool.query('checkpoint');
  };
  const count = async () => Number((await pool.query('select count(*) as n from siem.events')).rows[0].n);

  // The rows of each consumer-sized batch of records (outside any timing). Made again for each round
  // and dropped before the end-to-end case, so no case runs with the other's objects on the heap.
  const batchMax = config.normalizer.batch_max_records;
  const rowsOfBatches = (): NormalizedEvent[][] => {
    const out: NormalizedEvent[][] = [];
    for (let i = 0; i < N; i += batchMax) {
      out.push(c.records.slice(i, i + batchMax).flatMap((r) => normalizeAll(decodeRawEvent(r.value))));
    }
    return out;
  };
  let rowBatches: NormalizedEvent[][] | null = rowsOfBatches();
  const rowCount = rowBatches.reduce((n, b) => n + b.length, 0);
  // partitions for the whole range exist before any timed case (the writer makes them on demand)
  for (const b of rowBatches) await writer.writeBatch(b.filter((_, i) => i % 1000 === 0));

  const best = new Map<string, BenchRow>();
  const keep = (row: BenchRow, rate: number) => {
    const cur = best.get(row.case as string);
    if (cur === undefined || rate > (cur.rows_per_s as number)) best.set(row.case as string, row);
  };

  for (let round = 0; round < ROUNDS; round++) {
    // 1. the writer alone, on the same rows
    for (const concurrency of [1, 2]) {
      rowBatches ??= rowsOfBatches();
      const batches = rowBatches;
      await reset();
      let next = 0;
      const t = hr();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < batches.length) await writer.writeBatch(batches[next++]!);
        }),
      );
      const ms = hr() - t;
      const stored = await count();
      if (stored !== rowCount) throw new Error(`writer alone: ${stored} rows, expected ${rowCount}`);
      const rate = Math.round((rowCount / ms) * 1000);
      process.stdout.write(`writer alone, ${concurrency} at a time: ${rate} rows/s\n`);
      keep(
        {
          case: `writer alone, ${concurrency} batch${concurrency > 1 ? 'es' : ''} at a time`,
          rows: rowCount,
          seconds: Number((ms / 1000).toFixed(2)),
          rows_per_s: rate,
          note: `EventWriter.writeBatch of the normalized rows, ${batchMax} records' rows per batch`,
        },
        rate,
      );
    }

    // 2. the normalizer end to end: as the role runs it (2 batches in flight), and one at a time
    rowBatches = null;
    for (const inFlight of [ROLE_IN_FLIGHT, 1]) {
      await reset();
      const timed = new TimedWriter(writer);
      const sink = new NormalizingSink({
        writer: timed,
        deadLetters: {
          deadLetter: async (records, reason, error) => {
            throw new Error(`bench: ${records.length} records dead-lettered (${reason}: ${error})`);
          },
        },
        logger,
      });
      const run = await consumeAll(config, topic, N, (records) => sink.writeBatch(records), inFlight);
      const stored = await count();
      if (stored !== rowCount) throw new Error(`end to end: ${stored} rows, expected ${rowCount}`);
      const rate = Math.round((rowCount / run.steadyMs) * 1000);
      process.stdout.write(
        `normalizer end to end, ${inFlight} in flight: ${rate} rows/s (writer ${Math.round(timed.ms)} ms, handler ${Math.round(run.handlerMs)} ms, wall ${Math.round(run.steadyMs)} ms)\n`,
      );
      const serial = inFlight === 1;
      keep(
        {
          case: e2eCase(inFlight),
          rows: rowCount,
          seconds: Number((run.steadyMs / 1000).toFixed(2)),
          rows_per_s: rate,
          note: `${run.batches} batches; with the group join: ${Math.round((rowCount / run.totalMs) * 1000)} rows/s`,
          // where the wall time goes, when nothing overlaps
          wall_in_writer: serial ? Number((timed.ms / run.steadyMs).toFixed(3)) : null,
          wall_in_normalize: serial ? Number(((run.handlerMs - timed.ms) / run.steadyMs).toFixed(3)) : null,
          wall_outside_handler: serial
            ? Number(((run.steadyMs - run.handlerMs) / run.steadyMs).toFixed(3))
            : null,
        },
        rate,
      );
    }

    // 3. the parts alone: the consumer with nothing to do, decode + normalize with no I/O
    const idle = await consumeAll(config, topic, N, async () => undefined);
    const idleRate = Math.round((N / idle.steadyMs) * 1000);
    process.stdout.write(`consumer alone: ${idleRate} records/s\n`);
    keep(
      {
        case: 'Kafka consumer alone (handler does nothing)',
        rows: N,
        seconds: Number((idle.steadyMs / 1000).toFixed(2)),
        rows_per_s: idleRate,
        note: 'records/s: fetch, Message objects, commit',
      },
      idleRate,
    );
    const tn = hr();
    let made = 0;
    for (const r of c.records) made += normalizeAll(decodeRawEvent(r.value)).length;
    const nms = hr() - tn;
    const nRate = Math.round((made / nms) * 1000);
    process.stdout.write(`decode + normalize alone: ${nRate} rows/s\n`);
    keep(
      {
        case: 'decode + normalize alone (no I/O)',
        rows: made,
        seconds: Number((nms / 1000).toFixed(2)),
        rows_per_s: nRate,
        note: 'decodeRawEvent + normalizeAll on one core',
      },
      nRate,
    );
  }

  rows.push(...best.values());
  const w1 = best.get('writer alone, 1 batch at a time')!.rows_per_s as number;
  const w2 = best.get('writer alone, 2 batches at a time')!.rows_per_s as number;
  for (const r of rows) {
    r.vs_writer_1 = Number(((r.rows_per_s as number) / w1).toFixed(3));
    r.vs_writer_2 = Number(((r.rows_per_s as number) / w2).toFixed(3));
  }
  const rate = (name: string) => best.get(name)!.rows_per_s as number;
  const role = rate(e2eCase(ROLE_IN_FLIGHT));
  const serial = rate(e2eCase(1));
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const overhead1 = 1 - role / w1;
  const overhead2 = 1 - role / w2;
  process.stdout.write(
    `overhead of the role vs the writer alone: ${pct(overhead1)} (1 batch at a time), ${pct(overhead2)} (2 at a time); one batch in flight: ${pct(1 - serial / w1)}, ${pct(1 - serial / w2)}\n`,
  );
  writeBenchReport({
    name: 'normalizer-e2e',
    description:
      `${N.toLocaleString('en-US')} raw records (${c.avgBytes} bytes on average: ${Object.entries(c.kinds)
        .map(([k, v]) => `${k} ${Math.round((v / N) * 100)} %`)
        .join(
          ', ',
        )}; times over 20 h) on a ${PARTITIONS}-partition topic of the local Kafka → BatchConsumer → ` +
      'NormalizingSink → EventWriter (COPY) → PostgreSQL 15 of the local stack (partitioned siem.events, primary key ' +
      "and six partial indexes), the normalizer role's classes with its default settings, against EventWriter alone " +
      'on the same rows and database. Best of each case over the rounds.',
    rows,
    notes: [
      `Goal (issue 7): consumer and normalization overhead ≤ 20 % of the writer's own rate. The role (${ROLE_IN_FLIGHT} batches in flight): ${pct(overhead1)} against the writer writing one batch at a time, ${pct(overhead2)} against two at a time. One batch in flight: ${pct(1 - serial / w1)} and ${pct(1 - serial / w2)}.`,
      'With one batch in flight fetch, decode + normalize and the write run one after the other: wall_in_* are the shares of its wall time spent in the writer, in decode + normalize (the handler minus the writer) and outside the handler (fetching from librdkafka, building records, committing). With two, the next batch is fetched and normalized while the previous one is written.',
      'End-to-end seconds run from the first batch handed to the handler to the last row stored (the group join is not the steady rate; the note gives the rate with it).',
      'The machine (2 cores) is shared by this process, PostgreSQL, the Kafka broker and other work: the end-to-end case needs CPU for decoding and normalizing that the writer alone leaves to PostgreSQL, so against two writes at a time it is CPU-bound here. Figures are noisy; compare cases of the same run.',
    ],
  });
} finally {
  await storage?.close().catch(() => undefined);
  await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
  await admin.end();
  await deleteTopic(stackUrls.kafkaBrokers, topic);
  rmSync(dataDir, { recursive: true, force: true });
}
