/**
 * Storage per million events in each tier: SIEM_BENCH_ROWS sample events (default 300 000) spread over
 * 120 days in one-week chunks, measured as loaded (every chunk hot: uncompressed, all indexes), then
 * after one run of the tier job with the default boundaries and a cold tablespace: warm and cold
 * (columnstore), frozen (zstd JSON-lines archive; the hourly and daily rollups that stay in the database
 * are given per million raw events too). On the TimescaleDB engine of the embedded default (a fresh one
 * in a temporary folder) and, for comparison, on plain PostgreSQL 15 (partitions; warm = indexes beyond
 * the primary key dropped).
 *
 *   npm run bench -- storage/tier-sizes
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackUrls } from '@siem/local-stack';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { startEmbeddedTimescale } from '../src/embedded/embedded.js';
import { migrate } from '../src/migrate.js';
import { createPool, type Pool } from '../src/pool.js';
import { sampleBatch } from '../src/sample-events.js';
import type { StorageSettings } from '../src/settings.js';
import type { Engine } from '../src/sql-files.js';
import { createScratchDatabase, createScratchTablespace } from '../src/test-support.js';
import { type ChunkInfo, listChunks, runTiers, tierOf } from '../src/tiers.js';
import { EventWriter } from '../src/writer.js';

const ROWS = Number(process.env.SIEM_BENCH_ROWS ?? 300_000);
const DAY = 86_400_000;
const perMillion = (bytes: number, rows: number) => (rows === 0 ? null : Math.round((bytes / rows) * 1e6));
const mib = (b: number | null) => (b === null ? null : Number((b / 2 ** 20).toFixed(1)));

async function chunkRows(pool: Pool, chunks: ChunkInfo[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const c of chunks) {
    const r = await pool.query('select count(*) as n from siem.events where time >= $1 and time < $2', [
      c.rangeStart,
      c.rangeEnd,
    ]);
    out.set(c.name, Number(r.rows[0].n));
  }
  return out;
}

async function measure(engine: Engine, url: string, archiveDir: string): Promise<BenchRow[]> {
  const pool = createPool({ url, size: 2, idleTimeoutMs: 0 });
  const tablespace = await createScratchTablespace(url, 'siem_bench_cold');
  const out: BenchRow[] = [];
  try {
    const settings: Partial<StorageSettings> = {
      schema: 'siem',
      chunkInterval: '7 days',
      coldTablespace: tablespace.name,
      archive: { enabled: true, dir: archiveDir, zstdLevel: 9 },
    };
    await migrate(pool, settings);
    const writer = new EventWriter({ pool, schema: 'siem', chunkInterval: '7 days' });
    const now = Date.now();
    const o = { seed: 0x5123, fromMs: now - 120 * DAY, toMs: now, count: ROWS, tenants: 3, hosts: 200 };
    for (let i = 0; i < ROWS; i += 10_000) await writer.writeBatch(sampleBatch(o, i, i + 10_000));
    await writer.close();
    await pool.query('vacuum analyze siem.events');
    const client = await pool.connect();
    let before: ChunkInfo[];
    try {
      before = await listChunks(client, engine, 'siem');
    } finally {
      client.release();
    }
    const hotBytes = before.reduce((a, c) => a + c.bytes, 0);
    out.push({
      engine,
      tier: 'hot (as loaded: uncompressed, all indexes)',
      chunks: before.length,
      rows: ROWS,
      mib: mib(hotBytes),
      bytes_per_million_events: perMillion(hotBytes, ROWS),
    });

    const report = await runTiers(pool, settings);
    if (report.errors.length > 0) throw new Error(JSON.stringify(report.errors));
    const c2 = await pool.connect();
    let after: ChunkInfo[];
    try {
      after = await listChunks(c2, engine, 'siem');
    } finally {
      c2.release();
    }
    const counts = await chunkRows(pool, after);
    const at = new Date();
    for (const tier of ['hot', 'warm', 'cold'] as const) {
      const cs = after.filter(
        (c) =>
          tierOf(c.rangeEnd, at, { warmAfter: '7 days', coldAfter: '30 days', frozenAfter: '90 days' }) ===
          tier,
      );
      const bytes = cs.reduce((a, c) => a + c.bytes, 0);
      const rows = cs.reduce((a, c) => a + (counts.get(c.name) ?? 0), 0);
      out.push({
        engine,
        tier: `${tier} (after the tier job)`,
        chunks: cs.length,
        rows,
        mib: mib(bytes),
        bytes_per_million_events: perMillion(bytes, rows),
        tablespace: [...new Set(cs.map((c) => c.tablespace))].join(', '),
      });
    }
    const archived = report.exported.reduce((a, f) => a + f.rows, 0);
    const archiveBytes = report.exported.reduce((a, f) => a + f.bytes, 0);
    out.push({
      engine,
      tier: 'frozen: archive (zstd JSON lines)',
      chunks: report.exported.length,
      rows: archived,
      mib: mib(archiveBytes),
      bytes_per_million_events: perMillion(archiveBytes, archived),
    });
    const rollupSql =
      engine === 'timescaledb'
        ? `select sum(hypertable_size(format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)::regclass))::bigint as b
             from timescaledb_information.continuous_aggregates where view_schema = 'siem'`
        : `select (pg_total_relation_size('siem.events_hourly') + pg_total_relation_size('siem.events_daily'))::bigint as b`;
    const rollupBytes = Number((await pool.query(rollupSql)).rows[0].b);
    out.push({
      engine,
      tier: 'frozen: hourly + daily rollups (all 120 days)',
      chunks: null,
      rows: ROWS,
      mib: mib(rollupBytes),
      bytes_per_million_events: perMillion(rollupBytes, ROWS),
    });
  } finally {
    await pool.query('drop schema siem cascade').catch(() => undefined);
    await pool.end();
    await tablespace.drop();
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'siem-bench-tiers-'));
const engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
const db = await createScratchDatabase(stackUrls.postgres, 'siem_bench_tiers');
try {
  const rows = [
    ...(await measure('timescaledb', engine.url, join(dir, 'archive-ts'))),
    ...(await measure('postgres', db.url, join(dir, 'archive-pg'))),
  ];
  writeBenchReport({
    name: 'storage-tier-sizes',
    description:
      `${ROWS.toLocaleString('en-US')} sample events over 120 days (one-week chunks, 3 tenants, 200 hosts), sizes on disk ` +
      'with indexes, before and after one run of the tier job (warm 7 d, cold 30 d, frozen 90 d). TimescaleDB engine of ' +
      'the embedded default; plain PostgreSQL 15 for comparison.',
    rows,
    notes: [
      'Cold chunks are the warm ones moved to another tablespace: same bytes per event, cheaper disk.',
      'Sample events are regular (few distinct values per column), so columnstore and zstd ratios are on the high side of real logs.',
      'Rollups are per million raw events of the whole period; they are what stays in the database after the frozen tier.',
    ],
  });
} finally {
  await engine.stop();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}
