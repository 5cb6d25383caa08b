/**
 * Time to store under each attack of issue 18: `siem serve --role all` as `npm start` runs it (the
 * embedded TimescaleDB engine, a temporary data folder, ephemeral ports, API keys from a keys file),
 * one attack at a time. While an attack is under way, a canary syslog event goes over its own TCP
 * connection every 100 ms (`canary <case> <n>`, host `canary`), and one reader asks the API every
 * 100 ms for the canaries stored so far: the time from sending a canary until the API returns it is
 * the time to store under the attack. The peer: the same canaries with no attack, in the same run.
 * Each case also says when the attack's input was answered (or closed), and for the poison batch, when
 * its 1,500 rows were all stored.
 *
 *   npm run bench -- runtime/store-under-attack        (SIEM_BENCH_CASE_S: seconds of canaries per case, 15)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { generateApiKey, hashApiKey } from '@siem/api';
import { freePort, type RoleProcess, startRoleProcess } from '@siem/local-stack';
import { type BenchRow, writeBenchReport } from '@siem/observability';
// the Lumberjack writer the Windows tests use (written from the protocol document, not from our decoder)
import { compressedFrame, jsonFrame, windowFrame } from '@siem/windows/testing';

const CASE_MS = Number(process.env.SIEM_BENCH_CASE_S ?? 15) * 1000;
const MiB = 2 ** 20;
const log = (msg: string) => process.stderr.write(`[store-under-attack] ${msg}\n`);
const round = (x: number | null, digits = 1) =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

function quantile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const keys = { reader: generateApiKey(), heavy: generateApiKey(), ingest: generateApiKey() };
const dataDir = mkdtempSync(join(tmpdir(), 'siem-attack-'));
const keysFile = join(dataDir, 'keys.json');
writeFileSync(
  keysFile,
  JSON.stringify([
    { id: 'canary-reader', hash: hashApiKey(keys.reader), scopes: ['read'], tenant: null },
    { id: 'heavy-reader', hash: hashApiKey(keys.heavy), scopes: ['read'], tenant: null },
    { id: 'ingest', hash: hashApiKey(keys.ingest), scopes: ['ingest'], tenant: null },
  ]),
);
const ports = { api: await freePort(), syslog: await freePort(), windows: await freePort() };
const api = `http://127.0.0.1:${ports.api}`;

let proc: RoleProcess | null = null;
const rows: BenchRow[] = [];
try {
  proc = await startRoleProcess(
    'all',
    {
      SIEM_DATA_DIR: join(dataDir, 'data'),
      SIEM_API__HOST: '127.0.0.1',
      SIEM_API__PORT: String(ports.api),
      SIEM_API__KEYS_FILE: keysFile,
      SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
      SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(ports.syslog),
      SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
      SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(ports.syslog),
      SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
      SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: String(ports.windows),
    },
    { startTimeoutMs: 240_000 },
  );
  const role = proc;

  const tcp = async (port: number): Promise<Socket> => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    await new Promise<void>((r) => s.once('connect', () => r()));
    return s;
  };
  const syslogLine = (host: string, message: string) =>
    `<13>1 ${new Date().toISOString()} ${host} bench - - - ${message}\n`;
  const read = async (path: string, token: string) => {
    const res = await fetch(`${api}${path}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(120_000),
    });
    return {
      status: res.status,
      body: (await res.json().catch(() => null)) as Record<string, unknown> | null,
    };
  };
  const ingest = async (body: Buffer, gzip: boolean) => {
    const res = await fetch(`${api}/api/v1/ingest/cloudtrail`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${keys.ingest}`,
        'content-type': 'application/json',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      body,
      signal: AbortSignal.timeout(120_000),
    });
    const answer = (await res.json().catch(() => ({}))) as { accepted?: number; code?: string };
    return `${res.status} ${answer.code ?? `accepted ${answer.accepted} rows`}`;
  };
  /** Sends `bytes` on a connection of its own, waits until the listener closes it or `ms` pass. */
  const sendAndWait = async (port: number, bytes: Buffer, ms: number) => {
    const s = await tcp(port);
    const closed = new Promise<string>((r) => s.once('close', () => r('closed by the gateway')));
    s.write(bytes);
    const how = await Promise.race([closed, sleep(ms).then(() => `open after ${ms} ms`)]);
    s.destroy();
    return how;
  };
  const canaries = await tcp(ports.syslog);

  /**
   * Canaries and their reader for CASE_MS while `attack` runs (started with them); what the attack
   * returns describes its answer.
   */
  async function measure(name: string, attack: (t0: number) => Promise<Record<string, unknown>>) {
    const tag = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const t0 = Date.now();
    const sent = new Map<number, number>();
    const seen = new Map<number, number>();
    const until = t0 + CASE_MS;
    const sending = (async () => {
      for (let n = 0; Date.now() < until; n++) {
        sent.set(n, performance.now());
        canaries.write(syslogLine('canary', `canary ${tag} ${n}`));
        await sleep(100);
      }
    })();
    const from = new Date(t0 - 5_000).toISOString();
    const pattern = new RegExp(`^canary ${tag} (\\d+)$`);
    let readerErrors = 0;
    const readTimes: number[] = [];
    const reading = (async () => {
      // until every canary is seen, or 60 s after the last was sent
      while (Date.now() < until || (seen.size < sent.size && Date.now() < until + 60_000)) {
        const asked = performance.now();
        const r = await read(`/api/v1/events?host=canary&from=${from}&limit=1000`, keys.reader).catch(
          () => null,
        );
        readTimes.push(performance.now() - asked);
        if (r === null || r.status !== 200) readerErrors++;
        else {
          const now = performance.now();
          for (const e of (r.body?.data ?? []) as Array<{ message: string }>) {
            const m = pattern.exec(e.message);
            if (m !== null && !seen.has(Number(m[1]))) seen.set(Number(m[1]), now);
          }
        }
        await sleep(100);
      }
    })();
    const answer = await attack(t0);
    await Promise.all([sending, reading]);
    const times = [...sent].filter(([n]) => seen.has(n)).map(([n, at]) => seen.get(n)! - at);
    const row: BenchRow = {
      case: name,
      canaries_sent: sent.size,
      canaries_stored: seen.size,
      store_p50_ms: round(quantile(times, 0.5)),
      store_p99_ms: round(quantile(times, 0.99)),
      store_max_ms: round(quantile(times, 1)),
      reader_errors: readerErrors,
      reader_p50_ms: round(quantile(readTimes, 0.5)),
      reader_max_ms: round(quantile(readTimes, 1)),
      ...answer,
    };
    rows.push(row);
    log(JSON.stringify(row));
  }

  await measure('peer: canaries alone', async () => ({}));

  await measure("poison batch: 1,500 syslog events of 60 KB at once (the issue's 90 MB)", async (t0) => {
    const body = 'p'.repeat(60 * 1024 - 120);
    const lines = Array.from({ length: 1500 }, (_, i) => syslogLine('poison', `${i} ${body}`)).join('');
    const s = await tcp(ports.syslog);
    await new Promise<void>((r) => s.write(lines, () => r()));
    const written = Date.now() - t0;
    s.end();
    const from = new Date(t0 - 5_000).toISOString();
    let stored = 0;
    let storedMs: number | null = null;
    while (Date.now() - t0 < CASE_MS + 60_000) {
      const r = await read(`/api/v1/events?host=poison&from=${from}&limit=1`, keys.reader).catch(() => null);
      stored = Number(r?.body?.total ?? 0);
      if (stored >= 1500) {
        storedMs = Date.now() - t0;
        break;
      }
      await sleep(250);
    }
    return {
      attack_answer: `written in ${written} ms`,
      attack_rows_stored: stored,
      attack_stored_ms: storedMs,
    };
  });

  await measure('Windows NDJSON: 20 lines each holding a JSON array of 7,400 records', async () => {
    const line = Buffer.from(`${JSON.stringify(Array(7400).fill({ EventID: 4624 }))}\n`);
    const how = await sendAndWait(ports.windows, Buffer.concat(Array(20).fill(line)), 3_000);
    return { attack_answer: `${((20 * line.length) / MiB).toFixed(1)} MiB sent, ${how}` };
  });

  await measure("Lumberjack: a compressed frame of 368,000 tiny frames (the issue's 48.9 KB)", async () => {
    const tiny = Buffer.concat(Array(16_000).fill(jsonFrame(1, '{}')));
    const frame = compressedFrame(Array.from({ length: 23 }, () => [windowFrame(16_000), tiny]).flat(), 9);
    return { attack_answer: await sendAndWait(ports.windows, frame, 10_000) };
  });

  await measure("cloud: the issue's 3 KB request of nested Records (19,000 rows)", async () => {
    const body = gzipSync(
      `[{"Records":[${'{"eventName":"x","eventSource":"y"},'.repeat(18_999)}{"eventName":"x","eventSource":"y"}]}]`,
      { level: 9 },
    );
    return { attack_answer: await ingest(body, true) };
  });

  await measure("cloud: the issue's 50 KB gzip body of [{},{},…] (49 MB), 10 in a row", async () => {
    const bomb = gzipSync(Buffer.from(`[${'{},'.repeat(16 * MiB + MiB)}{}]`), { level: 9 });
    const answers = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const a = await ingest(bomb, true);
      answers.set(a, (answers.get(a) ?? 0) + 1);
    }
    return { attack_answer: [...answers].map(([a, n]) => `${n}× ${a}`).join(', ') };
  });

  await measure('8 heavy text searches (q= a word no event holds, 24 h) from one read key', async (t0) => {
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() - t0 < CASE_MS) {
          const r = await read('/api/v1/events?q=zzqx-nowhere&limit=50', keys.heavy).catch(() => null);
          const status = r?.status ?? 0;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 429) await sleep(1000);
        }
      }),
    );
    return { attack_answer: [...statuses].map(([s, n]) => `${n}× ${s}`).join(', ') };
  });
  canaries.destroy();
  const exit = await role.stop('SIGTERM', 90_000);
  log(`role stopped: ${JSON.stringify(exit)}`);
  proc = null;
} finally {
  await proc?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}

writeBenchReport({
  name: 'runtime-store-under-attack',
  description:
    'Time to store under each attack of issue 18, end to end: `siem serve --role all` as `npm start` runs it ' +
    '(embedded TimescaleDB), one attack at a time; canary syslog events every 100 ms over TCP during ' +
    `${CASE_MS / 1000} s from the attack's start, and the time from sending each until GET /api/v1/events returns ` +
    'it (a reader polling every 100 ms). The peer is the canaries alone in the same run. ' +
    'Command: npm run bench -- runtime/store-under-attack',
  rows,
  notes: [
    'store_* include up to 100 ms of the reader’s polling interval and the all role’s batching (the normalizer ' +
      'stores a batch when it is full or after its linger time).',
    'Before the issue-18 changes (the issue’s report): after the poison batch 0 rows were stored for minutes ' +
      'and the batch was replayed after a restart; 8 heavy searches delayed ingestion ~2 min; the gzip body ' +
      'froze the event loop 17 s.',
    'Known limit: the poison lines carry one timestamp to the millisecond, so 90 MB of text sits in one 10 ms ' +
      'window, the narrowest slice; a text search that reaches it reads it in one statement, and for that long ' +
      'other statements (the canary reader, writes) wait. Rows are not split below a window.',
    'Shared 2-core machine: the gateway, the embedded engine, the attacker and the canaries share it.',
  ],
});
