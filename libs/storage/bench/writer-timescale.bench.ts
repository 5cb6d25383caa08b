/**
 * Rows/s into the TimescaleDB engine of the embedded default (PGlite with TimescaleDB in a process of
 * its own, started by this one: what `npm start` runs), through the event writer:
 *
 * - COPY over the engine's bulk channel (the default since the channel exists), by statement size;
 * - INSERT … unnest over the wire server (the default before; still the path to an engine this process
 *   did not start, since pglite-socket takes no COPY FROM STDIN), the peer in the same run;
 * - the limits beside them: the same rows as ready COPY text straight onto the bulk channel (no event
 *   encoding), and rows of the same shape made by the engine itself (INSERT … SELECT FROM
 *   generate_series: no client, no wire, no parsing).
 *
 * A fresh engine in a temporary folder, hypertable with the production indexes.
 *
 *   npm run bench -- storage/writer-timescale       (SIEM_BENCH_ROWS, default 300 000: the burst of issue 16)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedEvent } from '@siem/core';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { startEmbeddedTimescale } from '../src/embedded/embedded.js';
import { migrate } from '../src/migrate.js';
import { createPool } from '../src/pool.js';
import { COLUMN_COUNT, prepareRow } from '../src/row-encoding.js';
import { sampleBatch } from '../src/sample-events.js';
import { copyText } from '../src/write-paths.js';
import { EventWriter } from '../src/writer.js';

const ROWS = Number(process.env.SIEM_BENCH_ROWS ?? 300_000);
/** CPU seconds a process has used (Linux: utime + stime of /proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
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
    const engineCpu0 = cpuSeconds(engine.pid);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const engineCpu = cpuSeconds(engine.pid) - engineCpu0;
    const n = Number((await pool.query('select count(*) as n from siem.events')).rows[0].n);
    if (n !== ROWS) throw new Error(`${name}: ${n} rows stored, expected ${ROWS}`);
    rows.push({
      case: name,
      rows: ROWS,
      seconds: Number(s.toFixed(2)),
      rows_per_s: Math.round(ROWS / s),
      engine_cpu_s: Number(engineCpu.toFixed(2)),
      rows_per_engine_cpu_s: Math.round(ROWS / engineCpu),
      writer_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
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
  const bulk = engine.bulk;
  if (bulk === null) throw new Error('the embedded engine offered no bulk channel');
  const text = [
    ...copyText(
      events.map((e) => {
        const values = new Array<string | null>(COLUMN_COUNT);
        prepareRow(e, values, {});
        return values;
      }),
      1 << 20,
    ),
  ];
  await record(
    'limit: ready COPY text straight onto the bulk channel',
    `${text.length} requests of ~1 Mi characters sent back to back, no event encoding`,
    async () => {
      const answers = text.map((body) => bulk.copyEvents('siem', body).stored);
      await Promise.all(answers);
    },
  );
  const writers: Array<{ batch: number; bulk: boolean; note: string }> = [
    {
      batch: 10_000,
      bulk: false,
      note: 'NormalizedEvent objects → unnest arrays → wire server (the path before the bulk channel)',
    },
    ...[1_000, 5_000, 10_000].map((batch) => ({
      batch,
      bulk: true,
      note: 'NormalizedEvent objects → COPY text → bulk channel → COPY FROM /dev/blob',
    })),
  ];
  for (const c of writers) {
    const w = new EventWriter({
      pool,
      schema: 'siem',
      batchRows: c.batch,
      ...(c.bulk ? {} : { bulk: null }),
    });
    await w.connect();
    await record(`writer (${w.method}, ${w.transport}), ${c.batch}-row statements`, c.note, async () => {
      for (let i = 0; i < ROWS; i += c.batch) await w.writeBatch(events.slice(i, i + c.batch));
    });
    await w.close();
  }
  const limit = rows[0]!.rows_per_s as number;
  const before = rows.find((r) => String(r.case).includes('wire'))!.rows_per_s as number;
  for (const r of rows) {
    r.vs_engine_alone = Number(((r.rows_per_s as number) / limit).toFixed(2));
    r.vs_insert_wire = Number(((r.rows_per_s as number) / before).toFixed(2));
  }
  writeBenchReport({
    name: 'storage-writer-timescale',
    description:
      `${ROWS.toLocaleString('en-US')} sample events into the embedded TimescaleDB engine (PGlite build in its own ` +
      'process) through the event writer: COPY over the bulk channel against INSERT … unnest over the wire server, ' +
      'ready COPY text on the channel, and the same number of rows generated inside the engine.',
    rows,
    notes: [
      'The engine is WebAssembly on one thread: its own insert rate is the ceiling for the embedded default.',
      'The writer encodes the next COPY request while the engine copies the previous one (two processes, two cores).',
      'The machine (2 cores) is shared with other work: wall-clock figures are noisy; compare cases of the same run. ' +
        'engine_cpu_s (CPU time of the engine process) and rows_per_engine_cpu_s depend far less on the other work.',
      'writer_cpu_s is the CPU time of this process (event encoding, the pg client or the bulk channel).',
    ],
  });
} finally {
  await pool.end();
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
}
