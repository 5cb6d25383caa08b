/**
 * syslog-listener: events per second received by the syslog_tcp listener from syslog-ng's load
 * generator `loggen` (Debian's syslog-ng-core, fetched into the stack cache by @siem/local-stack), each event
 * parsed, encoded as a raw event and offered to a null intake that only counts. Compared in the same
 * run against the limit of the setup: loggen into a plain TCP server that reads and discards bytes.
 * Run: npm run bench -- syslog/listener
 */
import { createServer } from 'node:net';
import { CountingIntake } from '@siem/core/testing';
import { fetchLoggen, type Loggen, run } from '@siem/local-stack';
import { silentLogger, writeBenchReport } from '@siem/observability';
import { syslogTcpAdapter } from '../src/adapters.js';

const SECONDS = Number(process.env.SIEM_BENCH_SECONDS ?? 8);
const SIZE = 256;

async function runLoggen(loggen: Loggen, port: number, extra: string[]): Promise<string> {
  const args = [
    '--inet',
    '--stream',
    '--rate',
    '100000000',
    '--size',
    String(SIZE),
    '--interval',
    String(SECONDS),
    '--active-connections',
    '1',
    ...extra,
    '127.0.0.1',
    String(port),
  ];
  const r = await run(loggen.bin, args, { env: loggen.env });
  const out = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`loggen exited ${r.code}: ${out}`);
  return out;
}

/** loggen's own count of messages sent (its summary line). */
function sentBy(out: string): number | null {
  const m = /average rate = [\d.]+ msg\/sec, count=(\d+)/.exec(out);
  return m ? Number(m[1]) : null;
}

async function discardServer(): Promise<{ port: number; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    bytes: () => bytes,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const loggen = await fetchLoggen();
const rows = [];

{
  const sink = await discardServer();
  const c0 = process.cpuUsage();
  const out = await runLoggen(loggen, sink.port, []);
  const cpu = process.cpuUsage(c0);
  const sent = sentBy(out);
  const approxEvents = sink.bytes() / (SIZE + 1);
  rows.push({
    case: 'limit: loggen → TCP server that discards bytes',
    framing: 'LF (RFC 3164 lines)',
    events_per_s: Math.round(approxEvents / SECONDS),
    mib_per_s: Math.round((sink.bytes() / SECONDS / 2 ** 20) * 10) / 10,
    listener_cpu_percent: Math.round(((cpu.user + cpu.system) / 1e6 / SECONDS) * 100),
    loggen_sent: sent,
  });
  await sink.close();
}

for (const [framing, extra] of [
  ['LF (RFC 3164 lines)', []],
  ['octet counting (RFC 5424, -P)', ['--syslog-proto']],
] as const) {
  const intake = new CountingIntake();
  const source = syslogTcpAdapter.create(
    'bench',
    { host: '127.0.0.1', port: 0 },
    { intake, tenant: 'bench', keyBy: 'host', logger: silentLogger },
  );
  await source.start();
  const port = Number(source.status().listen!.split(':').pop());
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await runLoggen(loggen, port, [...extra]);
  await new Promise((r) => setTimeout(r, 300)); // the last reads
  const wall = (performance.now() - t0 - 300) / 1000;
  const cpu = process.cpuUsage(c0);
  const counters = source.status().counters;
  await source.stop();
  rows.push({
    case: 'syslog_tcp listener → null intake (parse + encode + offer)',
    framing,
    events_per_s: Math.round(intake.events / wall),
    mib_per_s: Math.round(((counters.received_bytes ?? 0) / wall / 2 ** 20) * 10) / 10,
    listener_cpu_percent: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100),
    loggen_sent: sentBy(out),
    events_per_batch: Math.round(intake.events / Math.max(1, intake.batches)),
    parse_errors: counters.parse_errors ?? 0,
  });
  process.stderr.write(`${framing}: ${intake.events} events\n`);
}

writeBenchReport({
  name: 'syslog-listener',
  description:
    `syslog-ng loggen (one TCP connection, ${SIZE}-byte messages, unthrottled, ${SECONDS} s) into the ` +
    'syslog_tcp listener, whose events are parsed, encoded as raw events and counted by a null intake; ' +
    'against the same loggen into a TCP server that discards what it reads. Command: npm run bench -- syslog/listener',
  rows,
  notes: [
    'loggen and the listener share the machine (2 cores, also used by other work): figures are noisy and the generator competes with the listener for CPU',
    'events_per_s of the limit row is estimated from bytes received / (message size + 1)',
  ],
});
