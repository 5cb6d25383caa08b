/**
 * `npm run bench:gateways`: this gateway side by side with the established syslog → Kafka gateways, on
 * this machine, in one run, against one dedicated broker with the same topic settings:
 *
 * - this gateway, one process (`siem serve --role gateway`, its defaults);
 * - rsyslog: imptcp → omkafka (Debian's rsyslog-kafka);
 * - syslog-ng: network() → kafka-c() (Debian's syslog-ng-core + syslog-ng-mod-rdkafka, unpacked into
 *   the stack cache since syslog-ng-core conflicts with rsyslog as an installed package);
 * - Kafka's own ProducerPerformance (kafka-producer-perf-test) with records of the same size, as the
 *   broker's limit here.
 *
 * Each gateway gets the same load: syslog-ng's loggen over TCP, a fixed number of messages on several
 * connections, the lines of the device corpus of @siem/syslog (hostnames varied) sent unchanged. Each
 * produces with acks=all, zstd, idempotence and the same linger.ms/batch.size (the gateway's
 * defaults) to a fresh 12-partition topic; each record carries the parsed header and the raw message
 * as JSON, keyed by host. Reported: events/s delivered (counted on the broker: sum of end offsets,
 * from the first message sent until the last record is on the broker), CPU seconds per million events
 * (utime + stime of the contender's process from /proc), peak RSS (VmHWM) and the ratio of ours to
 * each. When ours is slower than the faster of rsyslog and syslog-ng, the gateway runs once more under
 * node --cpu-prof and the report lists where its time goes.
 *
 * Environment: SIEM_BENCH_MESSAGES (1000000), SIEM_BENCH_CONNECTIONS (4), SIEM_BENCH_ROUNDS (1; the
 * best round counts), SIEM_BENCH_PROFILE (1: always profile ours; 0: never), SIEM_BENCH_ONLY (run only
 * the contenders whose name holds it, no report), SIEM_BENCH_GATEWAY_NODE_ARGS (node flags for ours),
 * SIEM_BENCH_GATEWAY_ENV (space-separated NAME=value settings for ours, e.g.
 * "SIEM_KAFKA__PRODUCER__POOL_SIZE=2": other SIEM_ variables of this shell are not passed on).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateOrThrow } from '@siem/config';
import { nodeArgsFor, RawEventEncoder } from '@siem/core';
import { ensureTopics, type KafkaOptions, kafkaOptionsSchema, topicDefinitions } from '@siem/kafka';
import { childEnv, createKafkaService, run, stackPaths, writePayloadFile } from '@siem/local-stack';
import { writeBenchReport } from '@siem/observability';
import { encodeSyslogMessage, parseSyslogHeader } from '@siem/syslog';
import rdkafka from 'node-rdkafka';
import {
  BrokerProbe,
  fetchJemalloc,
  fetchLoggen,
  fetchSyslogNg,
  librdkafkaSettings,
  meanRecordBytes,
  type ProducerSettings,
  peakRssMiB,
  processCpuSeconds,
  runLoggen,
  type SyslogNg,
  startProducerPerformance,
  stopChild,
  threadCpuSeconds,
  usesJemalloc,
  waitForPort,
} from './measure.js';
import { type ProfileSummary, summarizeProfile } from './profile.js';

const MESSAGES = Number(process.env.SIEM_BENCH_MESSAGES ?? 1_000_000);
const CONNECTIONS = Number(process.env.SIEM_BENCH_CONNECTIONS ?? 4);
const ROUNDS = Number(process.env.SIEM_BENCH_ROUNDS ?? 1);
const PROFILE = process.env.SIEM_BENCH_PROFILE; // '1' always, '0' never, unset: when ours is slower
/** Extra node flags for the gateway (experiments: `--max-semi-space-size=64`, …). */
const GATEWAY_NODE_ARGS = (process.env.SIEM_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const GATEWAY_ENV: Record<string, string> = Object.fromEntries(
  (process.env.SIEM_BENCH_GATEWAY_ENV ?? '')
    .split(' ')
    .filter((a) => a.includes('='))
    .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
);
const PER_CONNECTION = Math.ceil(MESSAGES / CONNECTIONS);
const TOTAL = PER_CONNECTION * CONNECTIONS;
const PARTITIONS = 12;
const PORTS = { kafka: 26520, controller: 26521, syslog: 26522, api: 26523 };
const BROKER_NAME = 'bench-kafka-gateways';
const root = new URL('../../', import.meta.url);
const cliMain = new URL('apps/cli/src/main.ts', root);

const work = mkdtempSync(join(tmpdir(), 'siem-gateway-comparison-'));
const log = (msg: string) => process.stderr.write(`[gateways] ${msg}\n`);

// --- the load: device corpus lines, hostnames varied --------------------------------------------------

interface DeviceSample {
  raw: string;
}
const corpus = (
  JSON.parse(readFileSync(new URL('libs/syslog/src/fixtures/devices.json', root), 'utf8')) as {
    samples: DeviceSample[];
  }
).samples.map((s) => s.raw);

/** 5,000 lines: each corpus line with its HOSTNAME made one of ~180 variants (keys spread over partitions). */
function loadLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; lines.length < 5_000; i++) {
    const raw = corpus[i % corpus.length]!;
    const { header } = parseSyslogHeader(Buffer.from(raw), { receivedAtMs: Date.now() });
    const host = header.hostname;
    lines.push(host === null ? raw : raw.replace(host, `${host}${Math.floor(i / corpus.length)}`));
  }
  return lines;
}

// --- contenders ----------------------------------------------------------------------------------------

interface Running {
  /** Processes whose CPU and memory count. */
  pids: number[];
  /** The contender's own output so far (for a diagnosis when records are missing). */
  output(): string;
  children: ChildProcess[];
  /** Starts the load (loggen) or the work (ProducerPerformance); resolves when the generator is done. */
  drive(): Promise<{ sent: number | null }>;
  stop(): Promise<void>;
}

interface Contender {
  name: string;
  start(topic: string): Promise<Running>;
}

function watchOutput(child: ChildProcess): () => string {
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

function waitForOutput(
  child: ChildProcess,
  output: () => string,
  text: string,
  timeoutMs = 90_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (output().includes(text)) done(resolve);
      else if (child.exitCode !== null)
        done(() => reject(new Error(`exited ${child.exitCode}: ${output()}`)));
    }, 100);
    const deadline = setTimeout(
      () => done(() => reject(new Error(`no "${text}" in time: ${output()}`))),
      timeoutMs,
    );
    const done = (f: () => void) => {
      clearInterval(timer);
      clearTimeout(deadline);
      f();
    };
  });
}

function gatewayContender(brokers: string, loadFile: string, profileDir: string | null): Contender {
  return {
    name: profileDir === null ? 'siem gateway (one process)' : 'siem gateway (one process, --cpu-prof)',
    async start(topic) {
      const dataDir = mkdtempSync(join(work, 'gateway-'));
      const args = [
        ...(profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
        ...GATEWAY_NODE_ARGS,
        ...nodeArgsFor(cliMain),
        'serve',
        '--role',
        'gateway',
      ];
      const child = spawn(process.execPath, args, {
        env: childEnv({
          SIEM_DATA_DIR: dataDir,
          SIEM_LOG__LEVEL: 'info',
          SIEM_KAFKA__BROKERS: brokers,
          SIEM_KAFKA__CREATE_TOPICS: 'false',
          SIEM_KAFKA__TOPICS__RAW__NAME: topic,
          SIEM_KAFKA__TOPICS__DLQ__NAME: `${topic}.dlq`,
          SIEM_ADAPTERS__SYSLOG_UDP__ENABLED: 'false',
          SIEM_ADAPTERS__SYSLOG_TLS__ENABLED: 'false',
          SIEM_ADAPTERS__WINDOWS_EVENTS__ENABLED: 'false',
          SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
          SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(PORTS.syslog),
          SIEM_API__HOST: '127.0.0.1',
          SIEM_API__PORT: String(PORTS.api),
          LD_PRELOAD: jemalloc, // as the container image runs it
          ...GATEWAY_ENV,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output = watchOutput(child);
      await waitForOutput(child, output, '"msg":"producers connected"');
      if ((GATEWAY_ENV.LD_PRELOAD ?? jemalloc) !== '' && !usesJemalloc(child.pid!))
        throw new Error('the gateway runs without the jemalloc it was started with');
      await waitForPort(PORTS.syslog);
      return loggenDriven(child, output, loadFile, async () => {
        const code = await stopChild(child, 60_000);
        if (code !== 0) log(`gateway exited ${code}: ${output().slice(-2000)}`);
        rmSync(dataDir, { recursive: true, force: true });
      });
    },
  };
}

/** A started contender (one process) that loggen drives over TCP on the syslog port. */
function loggenDriven(
  child: ChildProcess,
  output: () => string,
  loadFile: string,
  stop: () => Promise<void>,
): Running {
  return {
    pids: [child.pid!],
    children: [child],
    output,
    drive: () => runLoggen(loggen, PORTS.syslog, loadFile, CONNECTIONS, PER_CONNECTION),
    stop,
  };
}

/**
 * A syslog daemon contender once started: listening on the syslog port, driven by loggen, stopped with
 * its working folder removed.
 */
async function daemonRunning(
  what: string,
  child: ChildProcess,
  dir: string,
  loadFile: string,
): Promise<Running> {
  const output = watchOutput(child);
  await waitForPort(PORTS.syslog);
  if (child.exitCode !== null) throw new Error(`${what} exited: ${output()}`);
  return loggenDriven(child, output, loadFile, async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  });
}

function rsyslogContender(brokers: string, loadFile: string, settings: ProducerSettings): Contender {
  return {
    name: 'rsyslog imptcp → omkafka',
    async start(topic) {
      const dir = mkdtempSync(join(work, 'rsyslog-'));
      const conf = join(dir, 'rsyslog.conf');
      const confParams = Object.entries(librdkafkaSettings(settings))
        .filter(([k]) => k !== 'acks')
        .map(([k, v]) => `"${k}=${v}"`);
      writeFileSync(
        conf,
        `global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imptcp" threads="2")
module(load="omkafka")
main_queue(queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="1024")
# the header rsyslog parsed and the raw message, as JSON: what the other gateways put on the topic
template(name="raw_event" type="list" option.jsonf="on") {
  property(outname="received_at" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="proc_id" name="procid" format="jsonf")
  property(outname="msg_id" name="msgid" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="peer_address" name="fromhost-ip" format="jsonf")
  property(outname="payload" name="rawmsg" format="jsonf")
}
template(name="host_key" type="string" string="%hostname%")
ruleset(name="to_kafka") {
  action(type="omkafka" broker=["${brokers}"] topic="${topic}"
         key="host_key" dynaKey="on" partitions.auto="on" template="raw_event"
         confParam=[${confParams.join(', ')}]
         topicConfParam=["request.required.acks=-1"])
}
input(type="imptcp" address="127.0.0.1" port="${PORTS.syslog}" ruleset="to_kafka")
`,
      );
      const child = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return daemonRunning('rsyslogd', child, dir, loadFile);
    },
  };
}

function syslogNgContender(
  sng: SyslogNg,
  brokers: string,
  loadFile: string,
  settings: ProducerSettings,
): Contender {
  return {
    name: 'syslog-ng network() → kafka-c()',
    async start(topic) {
      const dir = mkdtempSync(join(work, 'syslog-ng-'));
      const conf = join(dir, 'syslog-ng.conf');
      const config = Object.entries(librdkafkaSettings(settings))
        .map(([k, v]) => `"${k}" => "${v}"`)
        .join(' ');
      writeFileSync(
        conf,
        `@version: 3.38
options { threaded(yes); stats-freq(0); keep-hostname(yes); log-fifo-size(100000); };
source s_net {
  network(ip("127.0.0.1") port(${PORTS.syslog}) transport("tcp") flags(store-raw-message)
          log-iw-size(100000) max-connections(100));
};
destination d_kafka {
  kafka-c(
    bootstrap-servers("${brokers}")
    topic("${topic}")
    key("$HOST")
    # the header syslog-ng parsed and the raw message, as JSON: what the other gateways put on the topic
    message("$(format-json received_at=$R_ISODATE hostname=$HOST app_name=$PROGRAM proc_id=$PID msg_id=$MSGID facility=int($FACILITY_NUM) severity=int($LEVEL_NUM) timestamp=$ISODATE structured_data=$SDATA peer_address=$SOURCEIP payload=$RAWMSG)")
    config(${config})
  );
};
log { source(s_net); destination(d_kafka); flags(flow-control); };
`,
      );
      const child = spawn(
        sng.bin,
        [
          '-F',
          '-f',
          conf,
          `--module-path=${sng.modulePath}`,
          '-p',
          join(dir, 'syslog-ng.pid'),
          '-c',
          join(dir, 'syslog-ng.ctl'),
          '-R',
          join(dir, 'syslog-ng.persist'),
          '--no-caps',
          '--stderr',
        ],
        { env: sng.env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      return daemonRunning('syslog-ng', child, dir, loadFile);
    },
  };
}

function producerPerformanceContender(
  brokers: string,
  payloadFile: string,
  settings: ProducerSettings,
): Contender {
  return {
    name: 'kafka-producer-perf-test (broker limit)',
    async start(topic) {
      let child: ChildProcess | null = null;
      let output = () => '';
      return {
        get pids() {
          return child === null ? [] : [child.pid!];
        },
        get children() {
          return child === null ? [] : [child];
        },
        output: () => output(),
        drive() {
          child = startProducerPerformance(brokers, topic, TOTAL, payloadFile, settings);
          output = watchOutput(child);
          const c = child;
          return new Promise((resolve, reject) => {
            c.once('exit', (code) => {
              if (code !== 0) reject(new Error(`ProducerPerformance exited ${code}: ${output()}`));
              else resolve({ sent: Number(/(\d+) records sent,/.exec(output())?.[1] ?? Number.NaN) });
            });
          });
        },
        async stop() {
          if (child !== null) await stopChild(child);
        },
      };
    },
  };
}

// --- one measured run ------------------------------------------------------------------------------------

interface Result {
  contender: string;
  delivered: number;
  seconds: number;
  eventsPerS: number;
  cpuSeconds: number;
  cpuSPerMillion: number;
  /** The broker's CPU seconds per million events over the same interval: what the records cost it. */
  brokerCpuSPerMillion: number;
  peakRssMiB: number;
  meanRecordBytes: number;
  generatorSent: number | null;
  /** CPU seconds by thread name over the measured interval. */
  threads: Record<string, number>;
}

let topicSeq = 0;
async function measure(c: Contender): Promise<Result> {
  const topic = `bench.gateways.${process.pid}.${topicSeq++}`;
  const def = topicDefinitions(kafkaOptions.topics, false)[0]!; // siem.raw's definition: zstd, retention…
  await ensureTopics(kafkaOptions, [
    { ...def, name: topic, partitions: PARTITIONS },
    { ...def, name: `${topic}.dlq`, partitions: 1 },
  ]);
  log(`${c.name}: starting`);
  const r = await c.start(topic);
  try {
    await sleep(1_000);
    const cpuAt = () => r.pids.reduce((a, pid) => a + processCpuSeconds(pid), 0);
    const cpu0 = r.pids.length > 0 ? cpuAt() : 0;
    const brokerCpu0 = processCpuSeconds(brokerPid);
    let brokerCpu = 0;
    const threads0 = r.pids.length > 0 ? threadCpuSeconds(r.pids[0]!) : new Map<string, number>();
    let threads1 = threads0;
    const t0 = performance.now();
    let generatorDone = false;
    const driven = r.drive().finally(() => {
      generatorDone = true;
    });
    driven.catch(() => undefined);
    // CPU baseline of a process started by drive() (ProducerPerformance: the whole JVM run counts)
    let count = 0;
    let lastChange = performance.now();
    let cpu = 0;
    let rss = 0;
    for (;;) {
      await sleep(200);
      if (r.pids.length > 0) {
        try {
          cpu = cpuAt() - cpu0;
          rss = Math.max(rss, ...r.pids.map(peakRssMiB));
          threads1 = threadCpuSeconds(r.pids[0]!);
        } catch {
          /* the process has exited (ProducerPerformance) */
        }
      }
      const now = await probe.records(topic, PARTITIONS);
      if (now !== count) {
        count = now;
        lastChange = performance.now();
        brokerCpu = processCpuSeconds(brokerPid) - brokerCpu0;
      }
      if (count >= TOTAL) break;
      if (generatorDone && performance.now() - lastChange > 15_000) break; // something was lost
    }
    const seconds = (lastChange - t0) / 1000;
    const { sent } = await driven;
    if (count < TOTAL) {
      log(
        `${c.name}: only ${count} of ${TOTAL} records arrived (the generator sent ${sent}); its output ends:`,
      );
      process.stderr.write(`${r.output().slice(-3000)}\n`);
    }
    if (c.name.startsWith('kafka-producer-perf-test')) {
      // the JVM has exited: its CPU came back to us as a reaped child (see cpuOfReapedChildren)
      cpu = cpuOfReapedChildren() - childCpuBefore;
    }
    const result: Result = {
      contender: c.name,
      delivered: count,
      seconds,
      eventsPerS: count / seconds,
      cpuSeconds: cpu,
      cpuSPerMillion: (cpu / count) * 1e6,
      brokerCpuSPerMillion: (brokerCpu / count) * 1e6,
      peakRssMiB: rss,
      meanRecordBytes: await meanRecordBytes(brokers, topic, PARTITIONS),
      generatorSent: sent,
      threads: Object.fromEntries(
        [...threads1]
          .map(([name, sec]) => [name, Math.round((sec - (threads0.get(name) ?? 0)) * 100) / 100] as const)
          .filter(([, sec]) => sec > 0)
          .sort((a, b) => b[1] - a[1]),
      ),
    };
    log(
      `${c.name}: ${count} events in ${seconds.toFixed(1)} s = ${Math.round(result.eventsPerS)} events/s, ` +
        `${result.cpuSPerMillion.toFixed(1)} CPU s/M (broker ${result.brokerCpuSPerMillion.toFixed(1)}), peak RSS ${rss} MiB; CPU s by thread ${JSON.stringify(result.threads)}`,
    );
    return result;
  } finally {
    await r.stop();
  }
}

async function versions(): Promise<string> {
  const first = async (cmd: string, args: string[], env?: NodeJS.ProcessEnv) =>
    (await run(cmd, args, { env })).stdout.split('\n')[0]!.trim();
  const debianRdkafka = (await first('dpkg-query', ['-W', 'librdkafka1'])).split('\t')[1] ?? 'unknown';
  return [
    `ours: node ${process.version}, librdkafka ${rdkafka.librdkafkaVersion} (node-rdkafka)`,
    `${await first('rsyslogd', ['-v'])}`.replace(/\s+compiled with:$/, ''),
    `${await first(sng.bin, ['--version'], sng.env)}`,
    `rsyslog and syslog-ng with Debian's librdkafka ${debianRdkafka}`,
  ].join('; ');
}

const TICK = 100;
/** CPU seconds of this process's reaped children (cutime + cstime). */
function cpuOfReapedChildren(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICK;
}
let childCpuBefore = 0;

// --- run ---------------------------------------------------------------------------------------------------

const broker = createKafkaService({ name: BROKER_NAME, port: PORTS.kafka, controllerPort: PORTS.controller });
const brokers = broker.address;
const kafkaOptions = validateOrThrow<KafkaOptions>(kafkaOptionsSchema, { brokers });
const settings: ProducerSettings = {
  lingerMs: kafkaOptions.producer.linger_ms,
  batchBytes: kafkaOptions.producer.batch_bytes,
  queueMaxMessages: kafkaOptions.producer.queue_max_messages,
  queueMaxKbytes: kafkaOptions.producer.queue_max_kbytes,
};
const loggen = await fetchLoggen();
const sng = await fetchSyslogNg();
const jemalloc = await fetchJemalloc();
const startedBroker = await broker.up();
const brokerPid = (await broker.status()).pid ?? 0;
if (brokerPid === 0) throw new Error('the benchmark broker answers but its process is not known');
const probe = await BrokerProbe.open(brokers);
const load = loadAvgText();

function loadAvgText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

try {
  const lines = loadLines();
  const loadFile = join(work, 'load.txt');
  writeFileSync(loadFile, `${lines.join('\n')}\n`);
  // ProducerPerformance: our own raw-event records of the same lines (the record size ours writes)
  const encoder = new RawEventEncoder(
    { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '127.0.0.1', peerPort: 40000, tls: null },
    'default',
  );
  const payloadFile = join(work, 'payload.txt');
  writePayloadFile(
    payloadFile,
    lines.map((l) => encodeSyslogMessage(encoder, Buffer.from(l), Date.now()).value),
  );

  const contenders: Contender[] = [
    gatewayContender(brokers, loadFile, null),
    rsyslogContender(brokers, loadFile, settings),
    syslogNgContender(sng, brokers, loadFile, settings),
  ];
  const perf = producerPerformanceContender(brokers, payloadFile, settings);
  const only = process.env.SIEM_BENCH_ONLY; // a debugging aid: run the contenders whose name contains it
  if (only !== undefined && only !== '') {
    for (const c of [...contenders, perf]) {
      if (c.name.includes(only)) await measure(c);
    }
  } else await compare(contenders, perf, lines, loadFile);
} finally {
  await probe.close();
  if (startedBroker) {
    await broker.down();
    rmSync(join(stackPaths.stackDir, BROKER_NAME), { recursive: true, force: true });
  }
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}

async function compare(
  contenders: Contender[],
  perf: Contender,
  lines: string[],
  loadFile: string,
): Promise<void> {
  const best = new Map<string, Result>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of [...contenders, perf]) {
      if (c === perf) childCpuBefore = cpuOfReapedChildren();
      const r = await measure(c);
      const prev = best.get(c.name);
      if (prev === undefined || r.eventsPerS > prev.eventsPerS) best.set(c.name, r);
    }
  }
  const ours = best.get(contenders[0]!.name)!;
  const rsyslog = best.get(contenders[1]!.name)!;
  const syslogNg = best.get(contenders[2]!.name)!;
  const limit = best.get(perf.name)!;
  const fasterPeer = rsyslog.eventsPerS >= syslogNg.eventsPerS ? rsyslog : syslogNg;
  const goalMet = ours.eventsPerS >= fasterPeer.eventsPerS;

  let hot: ProfileSummary | null = null;
  if (PROFILE === '1' || (PROFILE !== '0' && !goalMet)) {
    const profileDir = join(work, 'profile');
    mkdirSync(profileDir, { recursive: true });
    const profiled = await measure(gatewayContender(brokers, loadFile, profileDir));
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file !== undefined) {
      hot = summarizeProfile(join(profileDir, file));
      const keep = join(stackPaths.cacheDir, 'gateway-comparison.cpuprofile');
      writeFileSync(keep, readFileSync(join(profileDir, file)));
      log(`profile (${Math.round(profiled.eventsPerS)} events/s under the profiler) kept in ${keep}`);
    }
  }

  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const rows = [ours, rsyslog, syslogNg, limit].map((r) => ({
    contender: r.contender,
    events_per_s: Math.round(r.eventsPerS),
    delivered: r.delivered,
    seconds: Math.round(r.seconds * 10) / 10,
    cpu_s_per_million: Math.round(r.cpuSPerMillion * 10) / 10,
    broker_cpu_s_per_million: Math.round(r.brokerCpuSPerMillion * 10) / 10,
    peak_rss_mib: r.peakRssMiB,
    record_bytes: r.meanRecordBytes,
    ours_ratio: r === ours ? 1 : ratio(ours.eventsPerS, r.eventsPerS),
  }));
  const loadAfter = loadAvgText();
  if (hot !== null) {
    writeFileSync(
      join(stackPaths.cacheDir, 'gateway-comparison-profile.json'),
      `${JSON.stringify(hot, null, 2)}\n`,
    );
  }
  writeBenchReport({
    name: 'gateway-comparison',
    description:
      `The same load — loggen over TCP, ${TOTAL.toLocaleString('en')} messages on ${CONNECTIONS} connections, ` +
      `the device corpus of @siem/syslog with varied hostnames (mean ${Math.round(
        lines.reduce((a, l) => a + Buffer.byteLength(l), 0) / lines.length,
      )} B) — through each gateway into one dedicated Kafka ${'4.1.1'} broker (a fresh ${PARTITIONS}-partition ` +
      `topic each, zstd, acks=all, idempotent producer, linger.ms=${settings.lingerMs}, batch.size=${settings.batchBytes}; ` +
      `records carry the parsed header and the raw message, keyed by host: one JSON object from rsyslog and ` +
      `syslog-ng, ours a raw event of version 2 — a JSON envelope line, then the message's bytes). Kafka's ` +
      `ProducerPerformance sends ${TOTAL.toLocaleString('en')} of our raw-event records with the same settings: ` +
      `the broker's limit here. Command: npm run bench:gateways`,
    rows,
    notes: [
      `goal (ours ≥ 1.0× the faster of rsyslog and syslog-ng, here ${fasterPeer.contender}): ${goalMet ? 'met' : 'NOT met'} — ${ratio(ours.eventsPerS, fasterPeer.eventsPerS)}×`,
      `ours vs the broker limit: ${ratio(ours.eventsPerS, limit.eventsPerS)}× of kafka-producer-perf-test`,
      'events_per_s: records on the broker (sum of end offsets) / time from the start of loggen until the last record arrived',
      'cpu_s_per_million: utime+stime of the contender process (all threads) over the same interval; ProducerPerformance: the whole JVM (start-up included)',
      "broker_cpu_s_per_million: utime+stime of the Kafka broker process until the last record arrived: what each contender's records cost the broker (with one round, the first contender also pays the broker's warm-up: compare within a run of several rounds)",
      'peak_rss_mib: VmHWM of the contender process; ours runs with its default 1,000,000-event memory ring',
      (GATEWAY_ENV.LD_PRELOAD ?? jemalloc) === ''
        ? "ours runs on glibc's malloc here (SIEM_BENCH_GATEWAY_ENV=LD_PRELOAD=), not as its container image runs it"
        : "ours runs as its container image runs it, with Debian's jemalloc preloaded (LD_PRELOAD, deploy/docker/Dockerfile): librdkafka frees each delivered message on its broker thread, and glibc's malloc makes those frees contend with the thread that allocates them (measured: about 0.5 CPU s per million events less with jemalloc); rsyslog and syslog-ng run on glibc's malloc, as Debian ships them",
      'record_bytes: mean value size of a sample of the records each contender wrote',
      `loggen, the contender and the broker share the machine's cores; load average before: ${load}, after: ${loadAfter}`,
      `CPU seconds by thread over the interval — ${[ours, rsyslog, syslogNg]
        .map(
          (r) =>
            `${r.contender}: ${Object.entries(r.threads)
              .map(([name, sec]) => `${name} ${sec}`)
              .join(', ')}`,
        )
        .join('; ')}`,
      `best of ${ROUNDS} round(s) per contender; versions: ${await versions()}`,
      ...(hot === null
        ? []
        : [
            `profile of ours under this load (node --cpu-prof over the whole process life, start-up included: ` +
              `${hot.sampled_ms} ms sampled, ${hot.idle_ms} ms idle); self time as a share of the busy time — by file: ` +
              hot.files.map((f) => `${f.name} ${f.busy_percent}%`).join(', '),
            `top functions by self time: ${hot.functions.map((f) => `${f.name} ${f.busy_percent}%`).join('; ')}`,
          ]),
    ],
  });
}
