/**
 * Issue 18 item 1, measured: are events of the largest size the intake takes (60 KB syslog, 256 KB
 * Windows) stored at the database's normal rate? The event writer stores, on each engine (PostgreSQL 15
 * of the local stack; the embedded TimescaleDB engine this process starts, as `npm start` does):
 *
 * - ordinary sample events (~0.5 KB: the peer),
 * - 60 KB syslog events, 256 KB Windows events, and a mix of both with ordinary ones,
 *
 * about 64 MiB of events per case, in the writer's default statements (10,000 rows or 16 MiB of values,
 * whichever comes first), two batches in flight as the roles deliver. Rows/s and MiB/s of event bytes
 * (message + raw + attrs as stored) per case; the ratio to the ordinary case is the question.
 *
 *   npm run bench -- storage/max-size-events
 */
import { randomBytes } from 'node:crypto';
import type { NormalizedEvent } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { migrate } from '../src/migrate.js';
import { createPool } from '../src/pool.js';
import { sampleEvent } from '../src/sample-events.js';
import { scratchEngines } from '../src/test-support.js';
import { EventWriter } from '../src/writer.js';

const MIB = 1024 * 1024;
const CASE_BYTES = Number(process.env.SIEM_BENCH_MIB ?? 64) * MIB;

/** 2 MiB of words and hex, from which each event takes a slice: it compresses about as log text does. */
const POOL = (() => {
  const words = ['user', 'login', 'failed', 'from', 'port', 'session', 'opened', 'closed', 'kernel', 'audit'];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < 2 * MIB; i++) {
    const part = `${words[(i * 7) % words.length]}=${randomBytes(6).toString('hex')} `;
    parts.push(part);
    length += part.length;
  }
  return parts.join('');
})();

/** Printable text of `n` bytes (n ≤ 1 MiB), a different slice for each seed. */
function logText(n: number, seed: number): string {
  const at = (seed * 7919) % (POOL.length - n);
  return POOL.slice(at, at + n);
}

type Kind = 'ordinary' | 'syslog_60k' | 'windows_256k';

function event(kind: Kind, i: number, now: number): NormalizedEvent {
  const e = sampleEvent({ seed: 0x5e7, fromMs: now - 3_600_000, toMs: now, count: 1 << 30 }, i);
  if (kind === 'ordinary') return e;
  if (kind === 'syslog_60k') {
    const message = logText(60 * 1024 - 200, i);
    return { ...e, message, raw: `<38>1 ${e.time} ${e.hostName} sshd - - - ${message}` };
  }
  const text = logText(256 * 1024 - 2_000, i);
  return {
    ...e,
    sourceType: 'windows',
    eventCode: '4688',
    message: text.slice(0, 4_000),
    raw: JSON.stringify({ EventID: 4688, Message: text }),
    attrs: {
      winlog: { event_id: 4688, channel: 'Security', event_data: { CommandLine: text.slice(0, 8_000) } },
    },
  };
}

const bytesOf = (e: NormalizedEvent) =>
  Buffer.byteLength(e.message ?? '') + Buffer.byteLength(e.raw) + Buffer.byteLength(JSON.stringify(e.attrs));

const cases: Array<{ name: string; kinds: Kind[] }> = [
  { name: 'peer: ordinary sample events', kinds: ['ordinary'] },
  { name: '60 KB syslog events', kinds: ['syslog_60k'] },
  { name: '256 KB Windows events', kinds: ['windows_256k'] },
  { name: 'mix: ordinary, 60 KB and 256 KB in turn', kinds: ['ordinary', 'syslog_60k', 'windows_256k'] },
];

const rows: BenchRow[] = [];
for (const start of scratchEngines(stackUrls.postgres, 'siem_maxsize')) {
  const engine = await start();
  const pool = createPool({ url: engine.url, size: 3, idleTimeoutMs: 0 });
  try {
    await migrate(pool, { schema: 'siem', chunkInterval: '1 day' });
    let offset = 0;
    let peer = 0;
    for (const c of cases) {
      await pool.query('truncate siem.events');
      const now = Date.now();
      const events: NormalizedEvent[] = [];
      let bytes = 0;
      while (bytes < CASE_BYTES) {
        const e = event(c.kinds[events.length % c.kinds.length]!, offset++, now);
        bytes += bytesOf(e);
        events.push(e);
      }
      const writer = new EventWriter({ pool, schema: 'siem' });
      await writer.connect();
      const batch = Math.max(1, Math.min(10_000, Math.floor(events.length / 8)));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        [0, 1].map(async () => {
          while (next < events.length) {
            const i = next;
            next += batch;
            await writer.writeBatch(events.slice(i, i + batch));
          }
        }),
      );
      const s = (performance.now() - t0) / 1000;
      await writer.close();
      const n = Number((await pool.query('select count(*) as n from siem.events')).rows[0].n);
      if (n !== events.length) throw new Error(`${c.name}: ${n} rows stored, expected ${events.length}`);
      const mibPerS = bytes / MIB / s;
      if (peer === 0) peer = mibPerS;
      rows.push({
        engine: engine.name,
        case: c.name,
        events: events.length,
        event_mib: Number((bytes / MIB).toFixed(1)),
        seconds: Number(s.toFixed(2)),
        rows_per_s: Math.round(events.length / s),
        mib_per_s: Number(mibPerS.toFixed(2)),
        mib_per_s_vs_peer: Number((mibPerS / peer).toFixed(2)),
      });
      process.stderr.write(`${engine.name} / ${c.name}: ${mibPerS.toFixed(2)} MiB/s\n`);
    }
  } finally {
    await pool.end();
    await engine.stop();
  }
}
writeBenchReport({
  name: 'storage-max-size-events',
  description:
    'Events of the largest sizes the intake takes (issue 18 item 1: 60 KB syslog, 256 KB Windows) stored by the ' +
    `event writer at its defaults, about ${CASE_BYTES / MIB} MiB of event bytes (message + raw + attrs) per case, ` +
    'two batches in flight; the peer is ordinary sample events in the same run on the same engine. ' +
    'Command: npm run bench -- storage/max-size-events',
  rows,
  notes: [
    'mib_per_s_vs_peer near or above 1: large events are stored at least at the byte rate of ordinary ones ' +
      '(statements are bounded by storage.write.batch_bytes, 16 MiB, as well as by rows).',
    'The texts are random words and hex, so they compress about as log text does (TOAST compresses values above 2 KB).',
    'Shared 2-core machine: compare rows of the same engine.',
  ],
});
