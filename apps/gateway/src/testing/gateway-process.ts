/**
 * Test support for the gateway's integration tests: the real `siem serve --role gateway` process with
 * its own data folder, ports and topics; its /metrics read back; a topic read to its end; and a TCP
 * syslog client that knows exactly which octet-counted frames it handed to the kernel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeArgsFor } from '@siem/core';
import rdkafka from 'node-rdkafka';

const cliMain = new URL('../../../cli/src/main.ts', import.meta.url);

export interface GatewayTopics {
  raw: string;
  dlq: string;
  normalized: string;
}

/** Unique topic names for one test, so runs never see each other's records. */
export function uniqueTopics(prefix: string): GatewayTopics {
  const id = randomUUID().slice(0, 8);
  return {
    raw: `${prefix}.raw.${id}`,
    dlq: `${prefix}.dlq.${id}`,
    normalized: `${prefix}.normalized.${id}`,
  };
}

export interface GatewayProcessOptions {
  brokers: string;
  topics: GatewayTopics;
  dataDir: string;
  /** TCP and UDP syslog port (both listeners on 127.0.0.1). */
  syslogPort: number;
  apiPort: number;
  /** More SIEM_* settings, e.g. { SIEM_BUFFER__MAX_EVENTS: '2000' }. */
  env?: Record<string, string>;
}

export interface GatewayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly apiPort: number;
  readonly syslogPort: number;
  /** Every log line so far (pino JSON), stdout and stderr. */
  readonly lines: string[];
  readonly exited: Promise<GatewayExit>;
  /** Resolves when a log line's `msg` matches (lines already logged count). */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  metrics(): Promise<MetricSample[]>;
  /** SIGTERM (or the given signal), then the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<GatewayExit>;
}

/** The environment of a child without this process's SIEM_* settings (unknown keys are rejected). */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SIEM_') || k.startsWith('SIEM_STACK_')) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Starts the gateway role and waits until its adapters listen. */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const env = childEnv({
    SIEM_DATA_DIR: options.dataDir,
    SIEM_LOG__LEVEL: 'info',
    SIEM_KAFKA__BROKERS: options.brokers,
    SIEM_KAFKA__TOPICS__RAW__NAME: options.topics.raw,
    SIEM_KAFKA__TOPICS__RAW__PARTITIONS: '4',
    SIEM_KAFKA__TOPICS__DLQ__NAME: options.topics.dlq,
    SIEM_KAFKA__TOPICS__DLQ__PARTITIONS: '1',
    SIEM_KAFKA__TOPICS__NORMALIZED__NAME: options.topics.normalized,
    SIEM_KAFKA__TOPICS__NORMALIZED__PARTITIONS: '1',
    SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(options.syslogPort),
    SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(options.syslogPort),
    SIEM_API__HOST: '127.0.0.1',
    SIEM_API__PORT: String(options.apiPort),
    ...options.env,
  });
  const child = spawn(process.execPath, [...nodeArgsFor(cliMain), 'serve', '--role', 'gateway'], {
    env,
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
  const exited = new Promise<GatewayExit>((resolve) =>
    child.once('exit', (code, signal) => {
      // SIEM_TEST_GATEWAY_LOGS=<folder> keeps each gateway's log as <folder>/gateway-<pid>.log
      const keep = process.env.SIEM_TEST_GATEWAY_LOGS;
      if (keep !== undefined && keep !== '') {
        mkdirSync(keep, { recursive: true });
        writeFileSync(join(keep, `gateway-${child.pid}.log`), `${lines.join('\n')}\n`);
      }
      resolve({ code, signal });
      for (const l of listeners) l();
    }),
  );
  let exit: GatewayExit | null = null;
  void exited.then((e) => {
    exit = e;
  });

  const find = (msg: string | RegExp): Record<string, unknown> | null => {
    for (const line of lines) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const m = String(o.msg ?? '');
      if (typeof msg === 'string' ? m === msg : msg.test(m)) return o;
    }
    return null;
  };
  const waitForLog = (msg: string | RegExp, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = find(msg);
        if (found !== null) done(() => resolve(found));
        else if (exit !== null)
          done(() =>
            reject(new Error(`gateway exited (${JSON.stringify(exit)}) before "${msg}":\n${tail(lines)}`)),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`no "${msg}" in the gateway's log within ${timeoutMs} ms:\n${tail(lines)}`)),
          ),
        timeoutMs,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        f();
      };
      listeners.add(check);
      check();
    });

  const gateway: GatewayProcess = {
    child,
    pid: child.pid!,
    apiPort: options.apiPort,
    syslogPort: options.syslogPort,
    lines,
    exited,
    waitForLog,
    metrics: () => scrapeMetrics(options.apiPort),
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
    await waitForLog('started', 90_000);
  } catch (err) {
    await gateway.stop('SIGKILL');
    throw err;
  }
  return gateway;
}

/** The warnings and errors of a gateway's log, each message once with its count (for the test output). */
export function logSummary(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      counts.set(line.slice(0, 200), (counts.get(line.slice(0, 200)) ?? 0) + 1);
      continue;
    }
    if (typeof o.level !== 'string' || !['warn', 'error', 'fatal'].includes(o.level)) continue;
    const detail = o.code !== undefined ? ` (code ${String(o.code)}: ${String(o.err ?? '')})` : '';
    const k = `${o.level}: ${String(o.msg)}${detail}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `  ${n} × ${k}`).join('\n');
}

function tail(lines: readonly string[], n = 20): string {
  return lines.slice(-n).join('\n');
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads the gateway's /metrics (Prometheus text format). */
export async function scrapeMetrics(apiPort: number): Promise<MetricSample[]> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
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
) {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

function admin(brokers: string): rdkafka.IAdminClient {
  return rdkafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'gateway-test' });
}

export async function deleteTopics(brokers: string, topics: readonly string[]): Promise<void> {
  const a = admin(brokers);
  await Promise.all(
    topics.map((t) => new Promise<void>((resolve) => a.deleteTopic(t, 10_000, () => resolve()))),
  );
  a.disconnect();
}

async function withProducerClient<T>(brokers: string, fn: (p: rdkafka.Producer) => Promise<T>): Promise<T> {
  const p = new rdkafka.Producer({ 'metadata.broker.list': brokers, 'client.id': 'gateway-test-reader' });
  await new Promise<void>((resolve, reject) =>
    p.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
  );
  try {
    return await fn(p);
  } finally {
    await new Promise<void>((resolve) => p.disconnect(() => resolve()));
  }
}

/** Partitions and end offsets (high watermarks) of a topic. */
export function endOffsets(brokers: string, topic: string): Promise<number[]> {
  return withProducerClient(brokers, async (p) => {
    const md = await new Promise<rdkafka.Metadata>((resolve, reject) =>
      p.getMetadata({ topic, timeout: 10_000 }, (e, m) => (e ? reject(e) : resolve(m))),
    );
    const t = md.topics.find((x) => x.name === topic);
    if (t === undefined || t.partitions.length === 0) return [];
    return Promise.all(
      t.partitions
        .map((x) => x.id)
        .sort((a, b) => a - b)
        .map(
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

/** Every record of the topic from the beginning to its current end offsets. */
export async function readTopic(brokers: string, topic: string): Promise<rdkafka.Message[]> {
  const ends = await endOffsets(brokers, topic);
  const total = ends.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const consumer = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers,
      'group.id': `gateway-test-${randomUUID()}`,
      'enable.auto.commit': false,
      'fetch.wait.max.ms': 50,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
  );
  consumer.assign(ends.map((_, partition) => ({ topic, partition, offset: 0 })));
  const got: rdkafka.Message[] = [];
  const seen = ends.map(() => 0);
  const deadline = Date.now() + 120_000;
  try {
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
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  if (got.length !== total) throw new Error(`read ${got.length} of ${total} records of ${topic}`);
  return got;
}

/** The frame body (a syslog message) of event `seq` of connection `conn`. */
export type FrameSource = (conn: number, seq: number) => Buffer;

export interface ConnectionLog {
  /** Frames whose bytes were all handed to the kernel (the write callback ran without error). */
  written: number;
  /** Frames passed to write() (written, or still in the socket's user-space queue). */
  queued: number;
  /** How the connection ended. */
  end: 'open' | 'ended' | 'error';
  error: string | null;
  localPort: number | null;
}

/**
 * A syslog client over TCP with octet-counted frames (RFC 6587) on several connections, at a steady
 * rate in total. It records, per connection, how many frames were written in full; frame `seq` of a
 * connection is always `frame(conn, seq)`, so the receiver's side can be checked byte for byte.
 */
export class OctetCountedLoad {
  readonly connections: ConnectionLog[];
  readonly #sockets: Socket[] = [];
  readonly #frame: FrameSource;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(
    readonly port: number,
    readonly connectionCount: number,
    frame: FrameSource,
  ) {
    this.#frame = frame;
    this.connections = Array.from({ length: connectionCount }, () => ({
      written: 0,
      queued: 0,
      end: 'open' as const,
      error: null,
      localPort: null,
    }));
  }

  get written(): number {
    return this.connections.reduce((a, c) => a + c.written, 0);
  }

  static frameOf(body: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`${body.length} `), body]);
  }

  async connect(): Promise<void> {
    for (let i = 0; i < this.connectionCount; i++) {
      const socket = new Socket();
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(this.port, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const log = this.connections[i]!;
      log.localPort = socket.localPort ?? null;
      socket.on('error', (err) => {
        if (log.end === 'open') {
          log.end = 'error';
          log.error = err.message;
        }
      });
      socket.on('close', () => {
        if (log.end === 'open') log.end = 'error';
      });
      this.#sockets.push(socket);
    }
  }

  /**
   * Sends at `ratePerSecond` in total (spread over the connections) until `stop`, or until each
   * connection has sent `perConnection` frames. Respects TCP backpressure (waits for 'drain').
   */
  start(ratePerSecond: number, perConnection = Number.POSITIVE_INFINITY): void {
    this.#running = true;
    const perConn = ratePerSecond / this.connectionCount;
    this.#loops = this.#sockets.map((socket, i) => this.#send(socket, i, perConn, perConnection));
  }

  async #send(socket: Socket, conn: number, rate: number, limit: number): Promise<void> {
    const log = this.connections[conn]!;
    const t0 = performance.now();
    const tick = 20; // ms: frames are sent in small bursts
    while (this.#running && log.queued < limit && log.end === 'open') {
      const due = Math.min(limit, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      let ok = true;
      while (log.queued < due && ok && log.end === 'open') {
        const frame = OctetCountedLoad.frameOf(this.#frame(conn, log.queued));
        log.queued++;
        ok = socket.write(frame, (err) => {
          if (!err) log.written++;
        });
      }
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.once('drain', done);
          socket.once('close', done);
        });
      } else await sleep(tick);
    }
  }

  /** Stops sending; waits for the senders' loops to return. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Ends every connection cleanly (FIN after the queued bytes) and waits for the close. */
  async end(): Promise<void> {
    await this.stop();
    await Promise.all(
      this.#sockets.map(
        (s, i) =>
          new Promise<void>((resolve) => {
            const log = this.connections[i]!;
            if (s.destroyed) return resolve();
            s.once('close', () => resolve());
            s.end(() => {
              if (log.end === 'open') log.end = 'ended';
            });
          }),
      ),
    );
  }

  destroy(): void {
    this.#running = false;
    for (const s of this.#sockets) s.destroy();
  }
}
