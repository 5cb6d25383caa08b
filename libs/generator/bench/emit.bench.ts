/**
 * generator-emit: how fast `siem emit-sample` sends realistic events, per protocol, and per CPU second
 * of the sending process ("per core": the generator is one event loop), against syslog-ng's `loggen`
 * over TCP on the same machine. Every sender sends to the same counting sink, a process of its own
 * (counting-sink.ts); the figures are what the sink counted. loggen runs twice: with its own 256-byte
 * template messages, and replaying a file of the generator's own syslog lines (`-R -l -d`), which
 * sends the same bytes without generating them.
 * Run: npm run bench -- generator/emit
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import { fetchLoggen, makeTestPki, run } from '@siem/local-stack';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { type EmitOptions, emitSample, generatorFor, type Protocol } from '../src/index.js';

const SECONDS = Number(process.env.SIEM_BENCH_SECONDS ?? 6);
const START = Date.parse('2026-01-05T09:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'siem-generator-bench-'));

interface Counts {
  events: number;
  bytes: number;
  cpuMs: number;
}

const sink = spawn(process.execPath, nodeArgsFor(new URL('./counting-sink.ts', import.meta.url)), {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
function ask<T>(message: unknown): Promise<T> {
  return new Promise((resolve) => {
    sink.once('message', (m) => resolve(m as T));
    sink.send(message as string);
  });
}

/** Waits until the sink's count stops moving (what was sent is all in). */
async function settled(): Promise<Counts> {
  let last = await ask<Counts>('counts');
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await ask<Counts>('counts');
    if (now.events === last.events) return now;
    last = now;
  }
}

const rows: BenchRow[] = [];

function row(
  name: string,
  protocol: string,
  sender: string,
  wallMs: number,
  cpuMs: number,
  sent: number | null,
  c: Counts,
): BenchRow {
  const r: BenchRow = {
    case: name,
    protocol,
    sender,
    events_per_s: Math.round((c.events / wallMs) * 1000),
    events_per_cpu_s: Math.round((c.events / cpuMs) * 1000),
    sender_cpu_percent: Math.round((cpuMs / wallMs) * 100),
    sink_cpu_percent: Math.round((c.cpuMs / wallMs) * 100),
    sent,
    received: c.events,
    bytes_per_event: c.events === 0 ? 0 : Math.round(c.bytes / c.events),
  };
  rows.push(r);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  return r;
}

const pki = makeTestPki(dir);
const { ports } = await ask<{ ports: Record<string, number> }>({
  tls: { cert: readFileSync(pki.server.cert, 'utf8'), key: readFileSync(pki.server.key, 'utf8') },
});
const loggen = await fetchLoggen();

/** loggen under `sh`, whose `times` reports the CPU time loggen (its child) used. */
async function runLoggen(name: string, extra: string[]): Promise<BenchRow> {
  await ask('reset');
  const args = [
    '--inet',
    '--stream',
    '--rate',
    '100000000',
    '--interval',
    String(SECONDS),
    '--active-connections',
    '1',
    ...extra,
    '127.0.0.1',
    String(ports.tcp),
  ];
  const t0 = performance.now();
  const r = await run('sh', ['-c', '"$0" "$@" || exit 1; times', loggen.bin, ...args], { env: loggen.env });
  const wallMs = performance.now() - t0;
  const out = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`loggen exited ${r.code}: ${out}`);
  const times = [...out.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop();
  if (times === undefined) throw new Error(`no times line in: ${out}`);
  const cpuMs = (Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])) * 1000;
  const sent = /average rate = [\d.]+ msg\/sec, count=(\d+)/.exec(out);
  return row(name, 'tcp', 'loggen', wallMs, cpuMs, sent === null ? null : Number(sent[1]), await settled());
}

async function runEmit(
  name: string,
  protocol: Protocol,
  extra: Partial<EmitOptions> = {},
): Promise<BenchRow> {
  await ask('reset');
  const port = {
    udp: ports.udp,
    tcp: ports.tcp,
    tls: ports.tls,
    lumberjack: ports.lumberjack,
    ndjson: ports.tcp,
    http: ports.http,
  }[protocol]!;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const s = await emitSample({
    protocol,
    target: { host: '127.0.0.1', port },
    count: null,
    durationMs: SECONDS * 1000,
    rate: null,
    diurnal: false,
    seed: 1,
    startMs: START,
    tenant: null,
    kinds: null,
    malformed: 0,
    framing: 'lf',
    tls: protocol === 'tls' ? { ca: readFileSync(pki.ca.cert), insecure: false } : null,
    apiKey: null,
    out: null,
    ...extra,
  });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (s.error !== null) throw new Error(`${name}: ${s.error}`);
  if (extra.out !== undefined && extra.out !== null) {
    const cpuMs = (c.user + c.system) / 1000;
    return row(name, protocol, 'emit-sample', wallMs, cpuMs, s.sent, {
      events: s.sent,
      bytes: s.bytes,
      cpuMs: 0,
    });
  }
  return row(name, protocol, 'emit-sample', wallMs, (c.user + c.system) / 1000, s.sent, await settled());
}

const loadAtStart = loadavg()[0]!;
try {
  // the generator's own syslog lines, for loggen to replay
  const replay = join(dir, 'syslog.log');
  const g = generatorFor(
    {
      protocol: 'tcp',
      kinds: null,
      seed: 1,
      startMs: START,
      rate: null,
      diurnal: false,
      malformed: 0,
      tenant: null,
    },
    1,
  );
  writeFileSync(replay, `${Array.from({ length: 200_000 }, () => g.next().text).join('\n')}\n`);

  const loggenOwn = await runLoggen('loggen, its own 256-byte messages', ['--size', '256']);
  const loggenReplay = await runLoggen("loggen replaying emit-sample's syslog lines (-R -l -d)", [
    '--read-file',
    replay,
    '--loop-reading',
    '--dont-parse',
  ]);
  const tcp = await runEmit('emit-sample tcp (LF)', 'tcp');
  await runEmit('emit-sample tcp (octet-counted)', 'tcp', { framing: 'octet-counted' });
  await runEmit('emit-sample tls', 'tls');
  await runEmit('emit-sample udp', 'udp');
  await runEmit('emit-sample ndjson (Windows JSON over TCP)', 'ndjson');
  await runEmit('emit-sample lumberjack (window 2048, zlib 3)', 'lumberjack');
  await runEmit('emit-sample lumberjack (window 2048, uncompressed)', 'lumberjack', {
    lumberjack: { compression: 0 },
  });
  await runEmit('emit-sample http (500-record gzip batches, 4 in flight)', 'http');
  await runEmit('emit-sample tcp kinds to /dev/null (generation only, no network)', 'tcp', {
    out: '/dev/null',
  });

  const ratio = (a: BenchRow, b: BenchRow, k: string) => (Number(a[k]) / Number(b[k])).toFixed(2);
  writeBenchReport({
    name: 'generator-emit',
    description:
      `siem emit-sample (the @siem/generator library, one process) sending realistic security events for ${SECONDS} s ` +
      'per case, unthrottled, to a counting sink in another process (counting-sink.ts: TCP/TLS lines or ' +
      'octet-counted frames, UDP datagrams, Lumberjack v2 windows acknowledged, HTTP cloud batches gunzipped ' +
      "and counted); against syslog-ng's loggen over TCP into the same sink. events_per_s = what the sink " +
      'counted / wall time; events_per_cpu_s = the same / CPU seconds of the sending process (user + system: ' +
      'the rate one core gives). Command: npm run bench -- generator/emit',
    rows,
    notes: [
      `emit-sample tcp per CPU second vs loggen (own messages): ${ratio(tcp, loggenOwn, 'events_per_cpu_s')}×; vs loggen replaying the same lines: ${ratio(tcp, loggenReplay, 'events_per_cpu_s')}×`,
      `emit-sample tcp wall rate vs loggen (own messages): ${ratio(tcp, loggenOwn, 'events_per_s')}×; vs loggen replaying: ${ratio(tcp, loggenReplay, 'events_per_s')}×`,
      'emit-sample generates every event (seeded PRNG, kinds rendered from templates) while loggen sends a fixed template or a file: the replay row sends the same bytes without that work',
      'sender, sink and the machine’s other work share 2 cores: when the sink is at ~100 % CPU it, not the sender, sets events_per_s; events_per_cpu_s is the fairer per-core figure',
      'loggen CPU time comes from `times` of the shell that ran it (its children’s user + system)',
      `load average (1 min) at the start: ${loadAtStart.toFixed(1)} on ${availableParallelism()} cores (other work on the machine takes CPU from sender and sink alike)`,
    ],
  });
} finally {
  sink.send('exit');
  sink.kill();
  rmSync(dir, { recursive: true, force: true });
}
