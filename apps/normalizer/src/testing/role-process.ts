/**
 * Test support for the integration tests of the normalizer and all roles: the real `siem serve --role …`
 * process with its own environment, its log lines and /metrics read back; Kafka topics created, filled
 * and read back with plain node-rdkafka clients; committed offsets of a consumer group; database rows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeArgsFor } from '@siem/core';
import rdkafka from 'node-rdkafka';
import pg from 'pg';

const cliMain = new URL('../../../cli/src/main.ts', import.meta.url);

/** A short random suffix for topics, groups and schemas, so runs never see each other's data. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
}

/** The environment of a child without this process's SIEM_* settings (unknown keys are refused). */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SIEM_') || k.startsWith('SIEM_STACK_')) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RoleExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RoleProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every log line so far (pino JSON), stdout and stderr. */
  readonly lines: string[];
  readonly exited: Promise<RoleExit>;
  /** Resolves with the first log line whose `msg` matches (lines already logged count). */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Log lines (parsed) whose `msg` matches. */
  logs(msg: string | RegExp): Record<string, unknown>[];
  /** SIGTERM (or the given signal), then the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<RoleExit>;
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const o = JSON.parse(line) as unknown;
    return typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function matches(o: Record<string, unknown>, msg: string | RegExp): boolean {
  const m = String(o.msg ?? '');
  return typeof msg === 'string' ? m === msg : msg.test(m);
}

/** Starts `siem serve --role <role>` with `env` (SIEM_* settings) and waits for its "started" line. */
export async function startRole(
  role: 'normalizer' | 'all',
  env: Record<string, string>,
  startTimeoutMs = 120_000,
): Promise<RoleProcess> {
  const child = spawn(process.execPath, [...nodeArgsFor(cliMain), 'serve', '--role', role], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.on('data', (d: Buffer) => {
      rest += d.toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      lines.push(...parts.filter((l) => l !== ''));
      for (const l of listeners) l();
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  let exit: RoleExit | null = null;
  const exited = new Promise<RoleExit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
      for (const l of listeners) l();
    }),
  );

  const logs = (msg: string | RegExp) =>
    lines.map(parseLine).filter((o): o is Record<string, unknown> => o !== null && matches(o, msg));

  const waitForLog = (msg: string | RegExp, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        f();
      };
      const check = () => {
        const found = logs(msg)[0];
        if (found !== undefined) done(() => resolve(found));
        else if (exit !== null)
          done(() =>
            reject(new Error(`${role} exited (${JSON.stringify(exit)}) before "${msg}":\n${tail(lines)}`)),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`no "${msg}" in the ${role} log within ${timeoutMs} ms:\n${tail(lines)}`)),
          ),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });

  const proc: RoleProcess = {
    child,
    pid: child.pid!,
    lines,
    exited,
    waitForLog,
    logs,
    async stop(signal = 'SIGTERM', graceMs = 60_000) {
      if (exit !== null) return exit;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
  try {
    await waitForLog('started', startTimeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

/** The warnings and errors of a log, each message once with its count (for assertion messages). */
export function logSummary(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const o = parseLine(line);
    if (o === null) {
      counts.set(line.slice(0, 200), (counts.get(line.slice(0, 200)) ?? 0) + 1);
      continue;
    }
    if (typeof o.level !== 'string' || !['warn', 'error', 'fatal'].includes(o.level)) continue;
    const k = `${o.level}: ${String(o.msg)}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `  ${n} × ${k}`).join('\n');
}

function tail(lines: readonly string[], n = 25): string {
  return lines.slice(-n).join('\n');
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads a role's /metrics (Prometheus text format). */
export async function scrapeMetrics(apiPort: number): Promise<MetricSample[]> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const out: MetricSample[] = [];
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`. */
export function metricSum(
  samples: readonly MetricSample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

// --- Kafka

function admin(brokers: string): rdkafka.IAdminClient {
  return rdkafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'normalizer-test' });
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
    'client.id': 'normalizer-test',
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
  return withConsumer(brokers, `normalizer-test-${randomUUID()}`, async (consumer) => {
    consumer.assign(ends.map((_, partition) => ({ topic, partition, offset: 0 })));
    const got: rdkafka.Message[] = [];
    const seen = ends.map(() => 0);
    const deadline = Date.now() + 60_000;
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
export function header(m: rdkafka.Message, name: string): string | undefined {
  for (const h of m.headers ?? []) {
    if (name in h) return String(h[name]);
  }
  return undefined;
}

// --- database

export async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Rows and distinct event ids in `<schema>.events` (0/0 while the table does not exist yet). */
export async function countEvents(url: string, schema: string): Promise<{ rows: number; ids: number }> {
  return withDb(url, async (c) => {
    const exists = await c.query('select to_regclass($1) as t', [`"${schema}".events`]);
    if (exists.rows[0].t === null) return { rows: 0, ids: 0 };
    const r = await c.query(
      `select count(*)::int as rows, count(distinct event_id)::int as ids from "${schema}".events`,
    );
    return r.rows[0] as { rows: number; ids: number };
  });
}

/** A fresh database on a real PostgreSQL server; `drop` removes it. */
export async function createScratchDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${uniqueSuffix()}`.toLowerCase();
  await withDb(adminUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withDb(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
