/**
 * Rows/s into the TimescaleDB engine of the embedded default (PGlite with TimescaleDB, behind its wire
 * server, in a process of its own: what `npm start` runs), through the event writer (INSERT … unnest;
 * that server takes no COPY FROM STDIN), by statement size. The engine's own limit beside it: the same
 * number of rows of the same shape made by the engine itself (INSERT … SELECT FROM generate_series), no
 * client and no wire. A fresh engine in a temporary folder, hypertable with the production indexes.
 *
 *   npm run bench -- storage/writer-timescale       (SIEM_BENCH_ROWS, default 100 000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedEvent } from '@siem/core';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { startEmbeddedTimescale } from '../src/embedded/embedded.js';
import { migrate } from '../src/migrate.js';
import { createPool } from '../src/pool.js';
import { sampleBatch } from '../src/sample-events.js';
import { EventWriter } from '../src/writer.js';

const ROWS = Number(process.env.SIEM_BENCH_ROWS ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'siem-bench-ts-'));
const engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
const pool = createPool({ url: engine.url, size: 3, idleTimeoutMs: 0 });
const rows: BenchRow[] = [];
try {
  await migrate(pool, { schema: 'siem', chunkInterval: '1 day' });
  const now = Date.now();
  const o = { seed: 0x75be, fromMs: now - 20 * 3_600_000, toMs: now, count: ROWS };
  const events: NormalizedEvent[] = sampleBatch(o, 0, ROWS);
  const reset = () => pool.query('truncate siem.events');
  const record = async (name: string, note: string, fn: () => Promise<void>) => {
    await reset();
    const t0 = process.hrtime.bigint();
    await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const n = Number((await pool.query('select count(*) as n from siem.events')).rows[0].n);
    if (n !== ROWS) throw new Error(`${name}: ${n} rows stored, expected ${ROWS}`);
    rows.push({
      case: name,
      rows: ROWS,
      seconds: Number(s.toFixed(2)),
      rows_per_s: Math.round(ROWS / s),
      note,
    });
    process.stdout.write(`${name}: ${Math.round(ROWS / s)} rows/s\n`);
  };

  await record(
    'engine alone: INSERT … SELECT FROM generate_series',
    'rows of the same shape made inside the engine',
    async () => {
      await pool.query(
        `insert into siem.events
       select now() - (i * interval '700 milliseconds'), now(), 'tenant-' || (i % 3), gen_random_uuid(), 'syslog',
              'host-' || (i % 50), ('192.168.1.' || (i % 200))::inet, 'sshd', 6, 'authentication', 'login', 'success',
              'alice', ('10.0.' || (i % 250) || '.' || (i % 200))::inet, 1024 + i % 60000, '10.0.0.1', 22, 'sshd',
              1000 + i % 5000, case when i % 3 = 0 then 'E4624' end,
              'sshd[' || i || ']: login for alice from 10.0.0.' || (i % 200) || ' port ' || (1024 + i % 60000) || ' ssh2 session=' || i,
              jsonb_build_object('facility', 'auth', 'seq', i, 'tags', jsonb_build_array('sample', 'sshd')),
              '<38>1 2026-01-01T00:00:00Z host-' || (i % 50) || ' sshd ' || i || ' - - sshd[' || i || ']: login for alice from 10.0.0.' || (i % 200) || ' port 22 ssh2',
              3002
         from generate_series(1, $1) i`,
        [ROWS],
      );
    },
  );
  for (const batch of [1_000, 5_000, 10_000]) {
    const w = new EventWriter({ pool, schema: 'siem', batchRows: batch });
    await w.connect();
    await record(
      `writer (${w.method}), ${batch}-row statements`,
      'NormalizedEvent objects → unnest arrays → wire',
      async () => {
        for (let i = 0; i < ROWS; i += batch) await w.writeBatch(events.slice(i, i + batch));
      },
    );
    await w.close();
  }
  const limit = rows[0]!.rows_per_s as number;
  for (const r of rows) r.vs_engine_alone = Number(((r.rows_per_s as number) / limit).toFixed(2));
  writeBenchReport({
    name: 'storage-writer-timescale',
    description:
      `${ROWS.toLocaleString('en-US')} sample events into the embedded TimescaleDB engine (PGlite build, wire server in ` +
      'its own process) through the event writer, against the same number of rows generated inside the engine.',
    rows,
    notes: [
      'The engine is WebAssembly on one thread: its own insert rate is the ceiling for the embedded default.',
      'The machine (2 cores) is shared with other work: figures are noisy; compare cases of the same run.',
    ],
  });
} finally {
  await pool.end();
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
}
