/**
 * What the gateway comparison measures with: CPU and peak memory of a process from /proc, the broker's
 * end offsets, syslog-ng's loggen, Kafka's ProducerPerformance, and syslog-ng with its Kafka module
 * unpacked into the project cache (Debian's syslog-ng-core conflicts with rsyslog as an installed package).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DebianPackages,
  fetchDebianPackages,
  fetchLoggen,
  type Loggen,
  producerPerformanceArgs,
  run,
} from '@siem/local-stack';
import rdkafka from 'node-rdkafka';

const TICK = 100; // USER_HZ

/** utime + stime of a process (every thread), in seconds. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** CPU seconds per thread name of a process (`rdk:broker1` and `rdk:broker2` count as `rdk:broker`). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d/]+$/, '');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? `${name} (main thread)` : name;
      out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) / TICK);
    } catch {
      /* the thread has ended */
    }
  }
  return out;
}

/** Peak resident set (VmHWM) of a process, MiB. */
export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

export async function waitForPort(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Watermarks and a sample of records of the benchmark topics, through one long-lived client. */
export class BrokerProbe {
  readonly #producer: rdkafka.Producer;

  private constructor(producer: rdkafka.Producer) {
    this.#producer = producer;
  }

  static async open(brokers: string): Promise<BrokerProbe> {
    const p = new rdkafka.Producer({ 'metadata.broker.list': brokers, 'client.id': 'bench-probe' });
    await new Promise<void>((resolve, reject) =>
      p.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
    );
    return new BrokerProbe(p);
  }

  async records(topic: string, partitions: number): Promise<number> {
    let sum = 0;
    for (let partition = 0; partition < partitions; partition++) {
      sum += await new Promise<number>((resolve, reject) =>
        this.#producer.queryWatermarkOffsets(topic, partition, 10_000, (e, o) =>
          e ? reject(e) : resolve(o.highOffset),
        ),
      );
    }
    return sum;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#producer.disconnect(() => resolve()));
  }
}

/** Mean value size of up to `max` records of a topic (read from the start). */
export async function meanRecordBytes(brokers: string, topic: string, partitions: number, max = 2000) {
  const consumer = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers,
      'group.id': `bench-sample-${process.pid}-${topic}`,
      'enable.auto.commit': false,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (e) => (e ? reject(e) : resolve())),
  );
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
  let n = 0;
  let bytes = 0;
  const deadline = Date.now() + 20_000;
  while (n < max && Date.now() < deadline) {
    const batch = await new Promise<rdkafka.Message[]>((resolve) =>
      consumer.consume(max - n, (_e, m) => resolve(m ?? [])),
    );
    for (const m of batch) {
      n++;
      bytes += m.value?.length ?? 0;
    }
  }
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return n === 0 ? 0 : Math.round(bytes / n);
}

export interface LoggenRun {
  /** loggen's own count of messages sent. */
  sent: number | null;
  seconds: number;
  output: string;
}

/**
 * loggen over TCP: the lines of `file` sent unchanged (--dont-parse), looping over the file, `perConnection`
 * messages on each of `connections` connections, as fast as the receiver takes them.
 */
export async function runLoggen(
  loggen: Loggen,
  port: number,
  file: string,
  connections: number,
  perConnection: number,
): Promise<LoggenRun> {
  const t0 = performance.now();
  const r = await run(
    loggen.bin,
    [
      '--inet',
      '--stream',
      '--read-file',
      file,
      '--dont-parse',
      '--loop-reading',
      '--number',
      String(perConnection),
      '--rate',
      '100000000',
      // loggen stops after --interval seconds (10 by default) even short of --number: let the count rule
      '--interval',
      '3600',
      '--active-connections',
      String(connections),
      '127.0.0.1',
      String(port),
    ],
    { env: loggen.env },
  );
  const output = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`loggen exited ${r.code}: ${output}`);
  // the summary line: "average rate = … msg/sec, count=N, time=…"
  const m = [...output.matchAll(/average rate = [\d.]+ msg\/sec, count=(\d+)/g)].pop();
  return { sent: m ? Number(m[1]) : null, seconds: (performance.now() - t0) / 1000, output };
}

export { fetchLoggen };

export interface ProducerSettings {
  lingerMs: number;
  batchBytes: number;
  queueMaxMessages: number;
  queueMaxKbytes: number;
}

/** The librdkafka settings every contender gets (the gateway's own defaults). */
export function librdkafkaSettings(s: ProducerSettings): Record<string, string> {
  return {
    'enable.idempotence': 'true',
    acks: 'all',
    'compression.codec': 'zstd',
    'linger.ms': String(s.lingerMs),
    'batch.size': String(s.batchBytes),
    'queue.buffering.max.messages': String(s.queueMaxMessages),
    'queue.buffering.max.kbytes': String(s.queueMaxKbytes),
  };
}

/** Kafka's ProducerPerformance (kafka-producer-perf-test) with the records of `payloadFile`, one per line. */
export function startProducerPerformance(
  brokers: string,
  topic: string,
  records: number,
  payloadFile: string,
  s: ProducerSettings,
): ChildProcess {
  return spawn(
    'java',
    producerPerformanceArgs({
      brokers,
      topic,
      records,
      payload: { file: payloadFile },
      lingerMs: s.lingerMs,
      batchBytes: s.batchBytes,
    }),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

// --- syslog-ng with kafka-c(), unpacked into the cache ------------------------------------------------

export interface SyslogNg {
  bin: string;
  modulePath: string;
  env: NodeJS.ProcessEnv;
}

const SNG_PACKAGES = ['syslog-ng-core', 'syslog-ng-mod-rdkafka'];

function syslogNgOf({ root, libraryPath }: DebianPackages): SyslogNg {
  const modules = readdirSync(join(root, 'usr', 'lib', 'syslog-ng')).find((d) => /^\d+\.\d+$/.test(d))!;
  return {
    bin: join(root, 'usr', 'sbin', 'syslog-ng'),
    modulePath: join(root, 'usr', 'lib', 'syslog-ng', modules),
    env: { ...process.env, LD_LIBRARY_PATH: libraryPath },
  };
}

/**
 * syslog-ng and its Kafka destination, fetched once with `apt-get download` (with the libraries the
 * machine lacks, librdkafka among them) and unpacked with `dpkg -x` into the stack cache (syslog-ng-kafka).
 */
export async function fetchSyslogNg(): Promise<SyslogNg> {
  const packages = await fetchDebianPackages('syslog-ng-kafka', SNG_PACKAGES, async (unpacked) => {
    const sng = syslogNgOf(unpacked);
    const check = await run(sng.bin, ['--version'], { env: sng.env });
    if (check.code !== 0) throw new Error(`syslog-ng does not run: ${(check.stderr || check.stdout).trim()}`);
    if (!existsSync(join(sng.modulePath, 'libkafka.so')))
      throw new Error('syslog-ng-mod-rdkafka lacks libkafka.so');
  });
  return syslogNgOf(packages);
}

// --- jemalloc, as the gateway's container image preloads it -------------------------------------------

function jemallocOf({ root }: DebianPackages): string {
  const dir = readdirSync(join(root, 'usr', 'lib')).find((d) =>
    existsSync(join(root, 'usr', 'lib', d, JEMALLOC)),
  );
  if (dir === undefined) throw new Error(`libjemalloc2 unpacked without ${JEMALLOC}`);
  return join(root, 'usr', 'lib', dir, JEMALLOC);
}

const JEMALLOC = 'libjemalloc.so.2';

/**
 * jemalloc, which the gateway's container image preloads (deploy/docker/Dockerfile): Debian's
 * libjemalloc2, fetched once into the stack cache (jemalloc). Returns the library's path, for LD_PRELOAD.
 */
export async function fetchJemalloc(): Promise<string> {
  const packages = await fetchDebianPackages('jemalloc', ['libjemalloc2'], async (unpacked) => {
    const lib = jemallocOf(unpacked);
    const check = await run(process.execPath, ['-e', ''], { env: { ...process.env, LD_PRELOAD: lib } });
    if (check.code !== 0 || check.stderr.includes('LD_PRELOAD'))
      throw new Error(`${lib} cannot be preloaded: ${check.stderr.trim()}`);
  });
  return jemallocOf(packages);
}

/** Whether process `pid` has jemalloc mapped (it was preloaded). */
export function usesJemalloc(pid: number): boolean {
  return readFileSync(`/proc/${pid}/maps`, 'utf8').includes(JEMALLOC);
}
