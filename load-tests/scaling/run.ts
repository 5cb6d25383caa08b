/**
 * `npm run bench:scaling`: how the pipeline scales from one process to two on this machine, with the
 * local stack's broker and database on the same cores.
 *
 * - gateways: 1 vs 2 `siem serve --role gateway` processes, each on its own ephemeral syslog TCP port
 *   (UDP, TLS and the Windows adapter off), behind the same offered load: the same total number of
 *   events from loggen (lines written by `siem emit-sample --out`), split evenly over the processes, into
 *   a fresh topic per run. Delivered = the topic's end offsets.
 * - normalizers: 1 vs 2 `siem serve --role normalizer` processes in one consumer group on a pre-filled
 *   topic (raw events of the same lines, spread evenly over its partitions), each run with a fresh group
 *   into a scratch PostgreSQL database. Delivered = rows stored (counted in the database).
 *
 * Reported per run: events/s over the interval in which every process was up, CPU s per million events of
 * the measured processes (and of loggen, the broker, PostgreSQL and the whole machine over the same
 * interval), and per case the scaling efficiency = 2-process rate / (2 × 1-process rate), with the reason
 * where it is below 0.9. The md also carries the per-core figure of every stage from its own committed
 * benchmark (stages.ts).
 *
 * Environment: SIEM_BENCH_GATEWAY_EVENTS (1000000), SIEM_BENCH_NORMALIZER_EVENTS (300000),
 * SIEM_BENCH_PARTITIONS (8), SIEM_BENCH_CONNECTIONS (4 in all, split over the gateways),
 * SIEM_BENCH_ONLY (gateway | normalizer), SIEM_BENCH_SHARED (a note that others used the machine).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateOrThrow } from '@siem/config';
import { nodeArgsFor, RawEventEncoder } from '@siem/core';
import { ensureTopics, type KafkaOptions, kafkaOptionsSchema, topicDefinitions } from '@siem/kafka';
import {
  childEnv,
  countEvents,
  createScratchDatabase,
  deleteTopics,
  freePort,
  kafkaService,
  metricSum,
  postgresService,
  produceRecords,
  type RoleProcess,
  run,
  scrapeMetrics,
  stackUrls,
  startRoleProcess,
  uniqueSuffix,
} from '@siem/local-stack';
import { writeBenchReport } from '@siem/observability';
import { encodeSyslogMessage } from '@siem/syslog';
import { BrokerProbe, fetchJemalloc, fetchLoggen, runLoggen } from '../gateway-comparison/measure.js';
import {
  cpuSecondsPerMillion,
  eventsPerSecond,
  machineBusySeconds,
  procStat,
  type RunFigures,
  resultsIn,
  STAGES,
  scalingEfficiency,
  shortfallReason,
  stageRows,
  stagesMarkdown,
  treeCpuSeconds,
} from './src/index.js';

const GATEWAY_EVENTS = Number(process.env.SIEM_BENCH_GATEWAY_EVENTS ?? 1_000_000);
const NORMALIZER_EVENTS = Number(process.env.SIEM_BENCH_NORMALIZER_EVENTS ?? 300_000);
const PARTITIONS = Number(process.env.SIEM_BENCH_PARTITIONS ?? 8);
const CONNECTIONS = Number(process.env.SIEM_BENCH_CONNECTIONS ?? 4);
const ONLY = process.env.SIEM_BENCH_ONLY ?? '';
/** A run that makes no progress for this long is over (what is missing is reported). */
const STALL_MS = 15_000;
const CORES = cpus().length;
const root = new URL('../../', import.meta.url);
const cliMain = new URL('apps/cli/src/main.ts', root);
const brokers = stackUrls.kafkaBrokers;
const kafkaOptions = validateOrThrow<KafkaOptions>(kafkaOptionsSchema, { brokers });
const work = mkdtempSync(join(tmpdir(), 'siem-scaling-'));
const log = (msg: string) => process.stderr.write(`[scaling] ${msg}\n`);
const loadAvg = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

// --- what every run shares: CPU of the others on the machine over the measured interval --------------

interface Others {
  brokerPid: number;
  postgresPid: number;
}

/** CPU seconds of everyone that counts, at one instant. */
function cpuSnapshot(measured: readonly number[], o: Others) {
  return {
    measured: measured.reduce((a, pid) => a + procStat(pid).cpuSeconds, 0),
    // loggen runs as our child: its CPU comes back to us when it is reaped (the roles are reaped only later)
    loadGenerator: procStat('self').childrenCpuSeconds,
    broker: procStat(o.brokerPid).cpuSeconds,
    database: treeCpuSeconds(o.postgresPid),
    machine: machineBusySeconds(),
  };
}
type Snapshot = ReturnType<typeof cpuSnapshot>;
const minus = (a: Snapshot, b: Snapshot): Snapshot => ({
  measured: a.measured - b.measured,
  loadGenerator: a.loadGenerator - b.loadGenerator,
  broker: a.broker - b.broker,
  database: a.database - b.database,
  machine: a.machine - b.machine,
});

/**
 * Polls `delivered` every 200 ms until it reaches `target` or stops moving for STALL_MS once `settled`
 * (the load generators are done); CPU is read at each change, so the interval ends at the last delivery.
 */
async function follow(
  target: number,
  delivered: () => Promise<number>,
  snapshot: () => Snapshot,
  settled: () => boolean,
): Promise<{ count: number; endMs: number; cpu: Snapshot }> {
  let count = await delivered();
  let endMs = performance.now();
  let cpu = snapshot();
  while (count < target) {
    await sleep(200);
    const now = await delivered();
    if (now !== count) {
      count = now;
      endMs = performance.now();
      cpu = snapshot();
    } else if (performance.now() - endMs > STALL_MS && settled()) break;
  }
  return { count, endMs, cpu };
}

// --- the load ----------------------------------------------------------------------------------------

/** 5,000 syslog lines of the project's generator (fixed seed), written with `siem emit-sample --out`. */
async function generatorLines(file: string): Promise<string[]> {
  const r = await run(
    process.execPath,
    [...nodeArgsFor(cliMain), 'emit-sample', '5000', '--protocol', 'tcp', '--seed', '7', '--out', file],
    { env: childEnv({}) },
  );
  if (r.code !== 0) throw new Error(`siem emit-sample exited ${r.code}: ${r.stderr}`);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  if (lines.length === 0) throw new Error('siem emit-sample wrote no lines');
  return lines;
}

interface CaseRun extends RunFigures {
  case: string;
  expected: number;
  /** Delivered before every process was up (normalizers start on a full topic); not in the rate. */
  before: number;
}

// --- gateways ----------------------------------------------------------------------------------------

async function gatewayRun(
  processes: number,
  loadFile: string,
  jemalloc: string,
  others: Others,
  probe: BrokerProbe,
): Promise<CaseRun> {
  const topic = `bench.scaling.gateway.${uniqueSuffix()}`;
  const topics = [topic, `${topic}.dlq`];
  const def = topicDefinitions(kafkaOptions.topics, false)[0]!; // siem.raw's settings: zstd, retention…
  await ensureTopics(kafkaOptions, [
    { ...def, name: topic, partitions: PARTITIONS },
    { ...def, name: `${topic}.dlq`, partitions: 1 },
  ]);
  const perProcess = Math.ceil(GATEWAY_EVENTS / processes);
  const connections = Math.max(1, Math.floor(CONNECTIONS / processes));
  const perConnection = Math.ceil(perProcess / connections);
  const expected = perConnection * connections * processes;
  const roles: RoleProcess[] = [];
  const dirs: string[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < processes; i++) {
      const dataDir = mkdtempSync(join(work, 'gateway-'));
      dirs.push(dataDir);
      const syslogPort = await freePort();
      const apiPort = await freePort();
      ports.push(syslogPort);
      roles.push(
        await startRoleProcess('gateway', {
          SIEM_DATA_DIR: dataDir,
          SIEM_KAFKA__BROKERS: brokers,
          SIEM_KAFKA__CREATE_TOPICS: 'false',
          SIEM_KAFKA__TOPICS__RAW__NAME: topic,
          SIEM_KAFKA__TOPICS__DLQ__NAME: `${topic}.dlq`,
          SIEM_ADAPTERS__SYSLOG_UDP__ENABLED: 'false',
          SIEM_ADAPTERS__SYSLOG_TLS__ENABLED: 'false',
          SIEM_ADAPTERS__WINDOWS_EVENTS__ENABLED: 'false',
          SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
          SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(syslogPort),
          SIEM_API__HOST: '127.0.0.1',
          SIEM_API__PORT: String(apiPort),
          LD_PRELOAD: jemalloc, // as the container image runs it
        }),
      );
    }
    for (const r of roles) await r.waitForLog('producers connected');
    const loggen = await fetchLoggen();
    const pids = roles.map((r) => r.pid);
    const snapshot = () => cpuSnapshot(pids, others);
    await sleep(1_000);
    const cpu0 = snapshot();
    const t0 = performance.now();
    let done = 0;
    const drives = ports.map((port) =>
      runLoggen(loggen, port, loadFile, connections, perConnection).finally(() => {
        done++;
      }),
    );
    for (const d of drives) d.catch(() => undefined);
    const end = await follow(
      expected,
      () => probe.records(topic, PARTITIONS),
      snapshot,
      () => done === drives.length,
    );
    const sent = (await Promise.all(drives)).reduce((a, r) => a + (r.sent ?? 0), 0);
    if (end.count < expected)
      log(`gateway ×${processes}: ${end.count} of ${expected} arrived (loggen sent ${sent})`);
    return {
      case: 'gateway',
      processes,
      expected,
      before: 0,
      events: end.count,
      seconds: (end.endMs - t0) / 1000,
      cpu: minus(end.cpu, cpu0),
    };
  } finally {
    await Promise.all(roles.map((r) => r.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await deleteTopics(brokers, topics);
  }
}

// --- normalizers -------------------------------------------------------------------------------------

/** Raw events of the load lines as the gateway encodes them, spread evenly over the partitions. */
async function fillRawTopic(topic: string, lines: readonly string[]): Promise<void> {
  const encoder = new RawEventEncoder(
    { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '127.0.0.1', peerPort: 40000, tls: null },
    'default',
  );
  const now = Date.now();
  const chunk = 50_000;
  for (let from = 0; from < NORMALIZER_EVENTS; from += chunk) {
    const records = [];
    for (let i = from; i < Math.min(from + chunk, NORMALIZER_EVENTS); i++) {
      const line = lines[i % lines.length]!;
      records.push({
        key: `host-${i % 64}`,
        value: encodeSyslogMessage(encoder, Buffer.from(line), now).value,
        partition: i % PARTITIONS,
      });
    }
    await produceRecords(brokers, topic, records);
  }
}

/** Partitions a role process holds, from its consumer's `rebalance` log lines (cooperative: increments). */
function assignedPartitions(r: RoleProcess): number {
  return r.logs('rebalance').reduce((n, l) => {
    const k = Number(l.partitions ?? 0);
    return String(l.event).includes('Assign') ? n + k : String(l.event).includes('Revoke') ? n - k : n;
  }, 0);
}

/** Waits until the processes hold every partition between them, each some; resolves with the wait in ms. */
async function waitForAssignment(roles: readonly RoleProcess[], timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const held = roles.map(assignedPartitions);
    if (held.every((n) => n > 0) && held.reduce((a, b) => a + b, 0) === PARTITIONS)
      return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(
        `the consumer group did not settle in ${timeoutMs} ms: partitions held ${held.join(', ')}`,
      );
    await sleep(50);
  }
}

async function normalizerRun(processes: number, rawTopic: string, others: Others): Promise<CaseRun> {
  const id = uniqueSuffix();
  const topics = { normalized: `bench.scaling.norm.${id}`, dlq: `bench.scaling.dlq.${id}` };
  const def = topicDefinitions(kafkaOptions.topics, false)[0]!;
  await ensureTopics(kafkaOptions, [
    { ...def, name: topics.normalized, partitions: 1 },
    { ...def, name: topics.dlq, partitions: 1 },
  ]);
  const db = await createScratchDatabase(stackUrls.postgres, 'bench_scaling');
  const roles: RoleProcess[] = [];
  const dirs: string[] = [];
  try {
    const apiPorts: number[] = [];
    const envs: Record<string, string>[] = [];
    for (let i = 0; i < processes; i++) {
      const dataDir = mkdtempSync(join(work, 'normalizer-'));
      dirs.push(dataDir);
      const apiPort = await freePort();
      apiPorts.push(apiPort);
      envs.push({
        SIEM_DATA_DIR: dataDir,
        SIEM_KAFKA__BROKERS: brokers,
        SIEM_KAFKA__CREATE_TOPICS: 'false',
        SIEM_KAFKA__TOPICS__RAW__NAME: rawTopic,
        SIEM_KAFKA__TOPICS__RAW__PARTITIONS: String(PARTITIONS),
        SIEM_KAFKA__TOPICS__DLQ__NAME: topics.dlq,
        SIEM_KAFKA__TOPICS__NORMALIZED__NAME: topics.normalized,
        SIEM_NORMALIZER__GROUP_ID: `bench-scaling-${processes}-${id}`,
        SIEM_STORAGE__DATABASE_URL: db.url,
        SIEM_STORAGE__TIERS__ENABLED: 'false',
        SIEM_API__HOST: '127.0.0.1',
        SIEM_API__PORT: String(apiPort),
      });
    }
    // the schema first, so that the processes start together (migrations run under a lock, one at a time)
    const migrated = await run(process.execPath, [...nodeArgsFor(cliMain), 'migrate'], {
      env: childEnv({ SIEM_STORAGE__DATABASE_URL: db.url }),
    });
    if (migrated.code !== 0) throw new Error(`siem migrate exited ${migrated.code}: ${migrated.stderr}`);
    const started = await Promise.allSettled(envs.map((env) => startRoleProcess('normalizer', env)));
    for (const s of started) if (s.status === 'fulfilled') roles.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const pids = roles.map((r) => r.pid);
    const snapshot = () => cpuSnapshot(pids, others);
    const stored = async () => {
      const samples = await Promise.all(apiPorts.map((p) => scrapeMetrics(p)));
      return samples.reduce(
        (a, s) => a + metricSum(s, 'siem_component_sent_events_total', { component_type: 'timescaledb' }),
        0,
      );
    };
    // the rate counts from the moment the group has settled: every partition assigned, every process holding some
    const joinMs = await waitForAssignment(roles);
    const cpu0 = snapshot();
    const t0 = performance.now();
    const before = await stored();
    log(
      `normalizer ×${processes}: group settled ${Math.round(joinMs)} ms after start, ${before} rows stored by then`,
    );
    const end = await follow(NORMALIZER_EVENTS, stored, snapshot, () => true);
    const rows = (await countEvents(db.url, 'siem')).rows;
    if (rows !== end.count)
      log(`normalizer ×${processes}: metrics say ${end.count} rows, the table holds ${rows}`);
    return {
      case: 'normalizer',
      processes,
      expected: NORMALIZER_EVENTS,
      before,
      events: rows - before,
      seconds: (end.endMs - t0) / 1000,
      cpu: minus(end.cpu, cpu0),
    };
  } finally {
    await Promise.all(roles.map((r) => r.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await deleteTopics(brokers, Object.values(topics));
    await db.drop();
  }
}

// --- report ------------------------------------------------------------------------------------------

/** CPU seconds the machine spent on anything but the role processes, loggen, the broker and PostgreSQL. */
const otherWork = (r: CaseRun) =>
  Math.max(0, r.cpu.machine - r.cpu.measured - r.cpu.loadGenerator - r.cpu.broker - r.cpu.database);

const round1 = (x: number) => Math.round(x * 10) / 10;

function rowOf(r: CaseRun, one: CaseRun | undefined) {
  const rate = eventsPerSecond(r);
  const efficiency = one === undefined ? null : scalingEfficiency(eventsPerSecond(one), rate);
  const perM = (s: number) => round1(cpuSecondsPerMillion(s, r.events));
  return {
    case: `${r.case} ×${r.processes}`,
    delivered: r.events + r.before,
    expected: r.expected,
    measured_events: r.events,
    seconds: Math.round(r.seconds * 100) / 100,
    events_per_s: Math.round(rate),
    cpu_s_per_million: perM(r.cpu.measured),
    load_generator_cpu_s_per_million: r.case === 'gateway' ? perM(r.cpu.loadGenerator) : null,
    broker_cpu_s_per_million: perM(r.cpu.broker),
    database_cpu_s_per_million: r.case === 'normalizer' ? perM(r.cpu.database) : null,
    machine_cores_busy: Math.round((r.cpu.machine / Math.max(r.seconds, 1e-9)) * 100) / 100,
    other_work_cores: Math.round((otherWork(r) / Math.max(r.seconds, 1e-9)) * 100) / 100,
    scaling_efficiency: efficiency === null ? null : Math.round(efficiency * 100) / 100,
    below_0_9_because: efficiency === null ? null : shortfallReason(r, CORES, efficiency),
  };
}

const loadAtStart = loadAvg();
const commitAtStart = (await run('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
const brokerPid = (await kafkaService.status()).pid;
const postgresPid = (await postgresService.status()).pid;
if (brokerPid === null || postgresPid === null)
  throw new Error('the local stack is not running: npm run stack -- up');
const others: Others = { brokerPid, postgresPid };
const runs: CaseRun[] = [];
const probe = await BrokerProbe.open(brokers);
const rawTopic = `bench.scaling.raw.${uniqueSuffix()}`;
try {
  const loadFile = join(work, 'load.txt');
  const lines = await generatorLines(loadFile);
  if (ONLY === '' || ONLY === 'gateway') {
    const jemalloc = await fetchJemalloc();
    for (const n of [1, 2]) {
      log(`gateway ×${n}: ${GATEWAY_EVENTS} events`);
      runs.push(await gatewayRun(n, loadFile, jemalloc, others, probe));
    }
  }
  if (ONLY === '' || ONLY === 'normalizer') {
    await ensureTopics(kafkaOptions, [
      { ...topicDefinitions(kafkaOptions.topics, false)[0]!, name: rawTopic, partitions: PARTITIONS },
    ]);
    log(`filling ${rawTopic} with ${NORMALIZER_EVENTS} raw events`);
    await fillRawTopic(rawTopic, lines);
    for (const n of [1, 2]) {
      log(`normalizer ×${n}`);
      runs.push(await normalizerRun(n, rawTopic, others));
    }
  }
} finally {
  await probe.close();
  await deleteTopics(brokers, [rawTopic]);
  rmSync(work, { recursive: true, force: true });
}

const rows = runs.map((r) =>
  rowOf(r, r.processes === 2 ? runs.find((o) => o.case === r.case && o.processes === 1) : undefined),
);
const stages = stageRows(STAGES, resultsIn(resolve(new URL('bench/results', root).pathname)));
// the whole role process, from this run's 1-process figures: what the stages add up to with their glue
for (const r of runs.filter((x) => x.processes === 1 && x.cpu.measured > 0)) {
  stages.push({
    stage: `whole ${r.case} process (this run, ×1)`,
    events_per_s_per_core: Math.round(r.events / r.cpu.measured),
    source: `scaling.json "${r.case} ×1" cpu_s_per_million`,
    commit: commitAtStart,
    measured_at: new Date().toISOString().slice(0, 10),
    note: 'events per CPU second of the role process, all its threads',
  });
}
function sharedNote(): string {
  const most = Math.max(0, ...rows.map((r) => r.other_work_cores));
  const told = process.env.SIEM_BENCH_SHARED ?? '';
  const measured = `other work on the machine (CPU time of everything but the role processes, loggen, the broker and PostgreSQL) took up to ${most.toFixed(2)} of the ${CORES} cores during a run (other_work_cores)`;
  if (most < 0.1 && told === '') return `the machine was otherwise quiet: ${measured}`;
  return `the machine was shared${told === '' ? '' : ` (${told})`}: ${measured}; absolute figures are lower than on a quiet machine, compare rows within this run`;
}
const file = writeBenchReport({
  name: 'scaling',
  description:
    `1 vs 2 processes of each role on this ${CORES}-core machine, with the local stack's Kafka broker and ` +
    `PostgreSQL on the same cores. Gateways: ${GATEWAY_EVENTS.toLocaleString('en')} events of the project's ` +
    `generator (siem emit-sample --seed 7 --out, 5,000 syslog lines looped) sent by loggen over TCP on ` +
    `${CONNECTIONS} connections in all, split evenly over the processes (each its own ephemeral port), into a ` +
    `fresh ${PARTITIONS}-partition topic per run; delivered = end offsets. Normalizers: one consumer group on a ` +
    `topic pre-filled with ${NORMALIZER_EVENTS.toLocaleString('en')} raw events of the same lines ` +
    `(${PARTITIONS} partitions, evenly filled), into a scratch PostgreSQL database per run; delivered = rows ` +
    'stored. Command: npm run bench:scaling',
  rows,
  notes: [
    'events_per_s: measured_events / seconds, from the moment every process was up (gateways: loggen starts) to the last delivery; normalizers start on a full topic, so rows stored before the last one was up (delivered − measured_events) are left out of the rate',
    'cpu_s_per_million: utime + stime of the measured role processes (all threads, /proc/<pid>/stat) over the same interval, per million measured events; load generator = loggen (reaped children of this script), broker = the Kafka JVM, database = the postmaster and its backends; machine_cores_busy = all busy CPU time of the machine (/proc/stat) / seconds, of 2 cores',
    'scaling_efficiency = events_per_s of 2 processes / (2 × events_per_s of 1 process); below_0_9_because reads the CPU figures of the 2-process run',
    'gateways run as their container image runs them, with jemalloc preloaded',
    `load average at start: ${loadAtStart}; at the end: ${loadAvg()}; commit at start ${commitAtStart}`,
    sharedNote(),
  ],
});
// the per-stage table, from the other committed results: in the JSON and as a second table in the md
const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
writeFileSync(file, `${JSON.stringify({ ...json, stages }, null, 2)}\n`);
const md = file.replace(/\.json$/, '.md');
writeFileSync(
  md,
  `${readFileSync(md, 'utf8')}\n## Per-core figure of every stage\n\nEach from its own committed benchmark in bench/results, with the commit it was measured at (read when this report was written).\n\n${stagesMarkdown(stages)}\n`,
);
