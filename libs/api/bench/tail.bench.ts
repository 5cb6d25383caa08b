/**
 * Live tail fan-out: events per second delivered to 10 WebSocket clients by the API server, as the
 * normalizing sink would hand them over (`publishStored`, batches of 500 rows of ~700 bytes of JSON).
 *
 * The clients run in a child process (one event loop for the 10 of them, as a separate machine
 * would), counting events without parsing them. Scenarios:
 * - saturate: publish as fast as the server's event loop allows; the clients read as fast as they can;
 * - paced: 20 000 events/s offered; every client should get every event;
 * - one stalled client among 10 at the saturating rate: the others are unaffected, the stalled one
 *   is told what it missed, and the server's memory stays flat;
 * - peer: the same messages broadcast with plain `ws` send (no filter, no queue, one JSON per batch):
 *   the ceiling of the transport on this machine.
 *
 *   npm run bench -- api/tail
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { checkAgainst } from '@siem/config';
import { type NormalizedEvent, nodeArgsFor } from '@siem/core';
import { type BenchRow, silentLogger, writeBenchReport } from '@siem/observability';
import { WebSocket } from 'ws';
import { generateApiKey, hashApiKey } from '../src/auth.js';
import { apiOptionsSchema } from '../src/options.js';
import { type ApiServer, createApiServer } from '../src/server.js';

const CLIENTS = 10;
const BATCH = 500;
const SECONDS = Number(process.env.SIEM_BENCH_SECONDS ?? 8);

// a full collection before each run, so the RSS figures compare runs rather than earlier garbage
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ---------------------------------------------------------------- child: the clients

async function runClients(url: string, token: string, n: number, stallFirst: boolean): Promise<void> {
  const counts = Array.from({ length: n }, () => ({ events: 0, dropped: 0, messages: 0 }));
  const sockets: WebSocket[] = [];
  await Promise.all(
    counts.map(
      (c, i) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(url, {
            headers: { authorization: `Bearer ${token}` },
            perMessageDeflate: false,
          });
          sockets.push(ws);
          ws.on('message', (data: Buffer) => {
            c.messages++;
            if (c.messages === 1) {
              resolve();
              if (stallFirst && i === 0) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
              return;
            }
            // count without parsing: the clients must not be the bottleneck being measured
            if (data[9] === 0x65 /* {"type":"events" */) {
              let at = data.indexOf('"eventId"');
              while (at >= 0) {
                c.events++;
                at = data.indexOf('"eventId"', at + 9);
              }
            } else {
              c.dropped += (JSON.parse(data.toString('utf8')) as { count: number }).count;
            }
          });
          ws.on('error', reject);
        }),
    ),
  );
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'resume')
      for (const ws of sockets) (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    if (line === 'report') process.stdout.write(`${JSON.stringify({ counts })}\n`);
    if (line === 'quit') break;
  }
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}

// ---------------------------------------------------------------- parent: the server

interface Clients {
  child: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
}

function startClients(url: string, token: string, stallFirst: boolean): Promise<Clients> {
  const child = spawn(
    process.execPath,
    [...nodeArgsFor(new URL(import.meta.url)), 'clients', url, token, String(CLIENTS), String(stallFirst)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const clients: Clients = {
    child,
    async next() {
      const r = await lines.next();
      if (r.done) throw new Error('clients exited');
      return JSON.parse(r.value) as Record<string, unknown>;
    },
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
  };
  return clients.next().then(() => clients);
}

function sampleRows(n: number): NormalizedEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const time = new Date(Date.UTC(2025, 5, 1) + i).toISOString();
    return {
      time,
      receivedAt: time,
      tenantId: `tenant-${i % 3}`,
      eventId: `01948c2e-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      sourceType: 'syslog',
      hostName: `host-${i % 50}`,
      hostIp: `192.168.1.${i % 250}`,
      appName: 'sshd',
      severity: 6,
      category: 'authentication',
      action: 'login',
      outcome: i % 3 === 0 ? 'failure' : 'success',
      userName: `user${i % 500}`,
      srcIp: `10.1.${(i >> 8) % 256}.${i % 256}`,
      srcPort: 1024 + (i % 60000),
      dstIp: '10.0.0.1',
      dstPort: 22,
      processName: 'sshd',
      processPid: 1000 + (i % 5000),
      eventCode: null,
      message: `sshd[${1000 + (i % 5000)}]: Accepted password for user${i % 500} from 10.1.${(i >> 8) % 256}.${i % 256} port ${1024 + (i % 60000)} ssh2`,
      attrs: { facility: 'auth', seq: i },
      raw: `<38>1 ${time} host-${i % 50} sshd ${1000 + (i % 5000)} - - Accepted password for user${i % 500}`,
      classUid: 3002,
    };
  });
}

type Count = { events: number; dropped: number };

interface RunResult {
  published: number;
  seconds: number;
  atEnd: Count[];
  final: Count[];
  cpuMs: number;
  rssBeforeMb: number;
  rssMaxMb: number;
  maxQueued: number;
}

async function run(
  server: ApiServer,
  url: string,
  token: string,
  o: { paceEventsPerSecond: number | null; stallFirst: boolean; peer?: boolean },
): Promise<RunResult> {
  const clients = await startClients(url, token, o.stallFirst);
  const rows = sampleRows(BATCH * 20);
  const batches = Array.from({ length: 20 }, (_, b) => rows.slice(b * BATCH, (b + 1) * BATCH));
  const sockets = [
    ...(server.app as unknown as { websocketServer: { clients: Set<WebSocket> } }).websocketServer.clients,
  ];
  gc();
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  let maxQueued = 0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    for (const s of server.tail.stats()) maxQueued = Math.max(maxQueued, s.queued);
  }, 50);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + SECONDS * 1000;
  let published = 0;
  let b = 0;
  while (performance.now() < end) {
    const batch = batches[b++ % batches.length]!;
    if (o.peer === true) {
      // the transport alone: one serialization per batch, sent to every socket that is not backed up
      const msg = `{"type":"events","events":${JSON.stringify(batch)}}`;
      for (const ws of sockets) if (ws.bufferedAmount < 1_048_576) ws.send(msg);
    } else {
      server.publishStored(batch);
    }
    published += batch.length;
    if (o.paceEventsPerSecond === null) {
      await new Promise((r) => setImmediate(r));
    } else {
      const due = started + (published / o.paceEventsPerSecond) * 1000;
      const wait = due - performance.now();
      await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clients.send('report');
  const atEnd = ((await clients.next()).counts as Count[]).map((c) => ({
    events: c.events,
    dropped: c.dropped,
  }));
  clients.send('resume');
  // let the queues drain, then the final accounting (delivered + dropped must equal published)
  await new Promise((r) => setTimeout(r, 2000));
  clients.send('report');
  const final = ((await clients.next()).counts as Count[]).map((c) => ({
    events: c.events,
    dropped: c.dropped,
  }));
  clearInterval(sampler);
  clients.send('quit');
  await new Promise((r) => clients.child.once('exit', r));
  return {
    published,
    seconds,
    atEnd,
    final,
    cpuMs: (used.user + used.system) / 1000,
    rssBeforeMb: Math.round(rssBefore / 2 ** 20),
    rssMaxMb: Math.round(rssMax / 2 ** 20),
    maxQueued,
  };
}

function row(name: string, r: RunResult, skipFirst = false): BenchRow {
  const counted = skipFirst ? r.atEnd.slice(1) : r.atEnd;
  const delivered = counted.reduce((s, c) => s + c.events, 0);
  const finalDelivered = r.final.reduce((s, c) => s + c.events, 0);
  return {
    case: name,
    offered_events_per_s: Math.round(r.published / r.seconds),
    delivered_events_per_s_all_clients: Math.round(delivered / r.seconds),
    delivered_events_per_s_per_client_min: Math.round(Math.min(...counted.map((c) => c.events)) / r.seconds),
    not_delivered_percent:
      Math.round((1000 * (r.published * r.final.length - finalDelivered)) / (r.published * r.final.length)) /
      10,
    every_miss_reported: r.final.every((c) => c.events + c.dropped === r.published),
    server_cpu_percent: Math.round((100 * r.cpuMs) / (r.seconds * 1000)),
    server_rss_mb_before: r.rssBeforeMb,
    server_rss_mb_max: r.rssMaxMb,
    max_queued_per_client: r.maxQueued,
  };
}

async function main(): Promise<void> {
  const token = generateApiKey();
  const options = {
    port: 0,
    keys: [{ id: 'bench', hash: hashApiKey(token), scopes: ['tail'] }],
    rate_limit: { enabled: false },
  };
  checkAgainst(apiOptionsSchema, options);
  const server = await createApiServer({ options: options as never, logger: silentLogger, readiness: [] });
  const base = await server.listen();
  const url = `${base.replace(/^http/, 'ws')}/api/v1/tail`;
  const rows: BenchRow[] = [];
  try {
    rows.push(
      row(
        '10 clients, saturating publisher',
        await run(server, url, token, { paceEventsPerSecond: null, stallFirst: false }),
      ),
    );
    rows.push(
      row(
        '10 clients, 20 000 events/s offered',
        await run(server, url, token, { paceEventsPerSecond: 20_000, stallFirst: false }),
      ),
    );
    rows.push(
      row(
        '9 clients + 1 stalled, saturating (figures of the 9)',
        await run(server, url, token, { paceEventsPerSecond: null, stallFirst: true }),
        true,
      ),
    );
    const peer = await run(server, url, token, { paceEventsPerSecond: null, stallFirst: false, peer: true });
    rows.push(row('peer: plain ws broadcast, 10 clients, saturating', peer));
  } finally {
    await server.close();
  }
  writeBenchReport({
    name: 'api-tail',
    description:
      `Live tail fan-out: the API server publishes batches of ${BATCH} stored rows (~700 B of JSON each) for ${SECONDS} s to ` +
      `${CLIENTS} WebSocket clients in a child process on the same machine (default tail options: queue 1000 events, ` +
      'messages of up to 200, 1 MiB unwritten per socket). delivered = events received by the clients during the window; ' +
      'not delivered = events a client never received (after draining). npm run bench -- api/tail',
    rows,
    notes: [
      'Server and clients share 2 cores: the clients’ reading competes with the server’s sending.',
      'every_miss_reported: every client got, for every published event, either the event or a count of it in a dropped notice.',
      'The peer drops whole batches for a backed-up socket without telling the client; it has no filters and no per-client queue.',
    ],
  });
}

if (process.argv[2] === 'clients') {
  await runClients(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), process.argv[6] === 'true');
} else {
  await main();
}
