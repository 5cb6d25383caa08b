import type { LoggerLike } from '@siem/core';
import { SiemError } from '@siem/core';
import { type ArchiveEntry, archiveFolder, exportRange, markArchived, readManifest } from './archive.js';
import { intervalMs } from './intervals.js';
import { storageMetrics as m } from './metrics.js';
import { intervalLiteral, lockKey, recordedEngine } from './migrate.js';
import { checkout, ident, inspectServer, type PoolClient, type PoolTarget, withPool } from './pool.js';
import { resolveSettings, type StorageSettings } from './settings.js';
import type { Engine } from './sql-files.js';

export type TierName = 'hot' | 'warm' | 'cold' | 'frozen';

export interface TierOptions extends Partial<StorageSettings> {
  logger?: LoggerLike;
}

/** One chunk (TimescaleDB) or partition (PostgreSQL) of the events table. */
export interface ChunkInfo {
  name: string;
  rangeStart: Date;
  rangeEnd: Date;
  /** TimescaleDB: columnstore. PostgreSQL: always false. */
  compressed: boolean;
  /** Tablespace of the chunk (and of its compressed data, when they differ: `a+b`). */
  tablespace: string;
  /** PostgreSQL: indexes beyond the primary key still on the partition. */
  secondaryIndexes: number;
  bytes: number;
}

export interface TierRunReport {
  schema: string;
  /** null when the run was skipped before reaching the database. */
  engine: Engine | null;
  skipped: 'locked' | null;
  startedAt: string;
  durationMs: number;
  /** TimescaleDB policies run by this job (CALL run_job) because no background scheduler runs them. */
  jobsRun: number[];
  created: number;
  compressed: number;
  indexesDropped: number;
  moved: number;
  exported: ArchiveEntry[];
  dropped: number;
  errors: Array<{ step: string; message: string }>;
  /** Milliseconds spent in each step. */
  stepMs: Record<string, number>;
}

/** The tier a chunk belongs to by the age of its newest possible row (its range end). */
export function tierOf(
  rangeEnd: Date,
  now: Date,
  s: Pick<StorageSettings, 'warmAfter' | 'coldAfter' | 'frozenAfter'>,
): TierName {
  const age = now.getTime() - rangeEnd.getTime();
  if (age >= intervalMs(s.frozenAfter)) return 'frozen';
  if (age >= intervalMs(s.coldAfter)) return 'cold';
  if (age >= intervalMs(s.warmAfter)) return 'warm';
  return 'hot';
}

export async function listChunks(client: PoolClient, engine: Engine, schema: string): Promise<ChunkInfo[]> {
  const q = ident(schema);
  if (engine === 'postgres') {
    const r = await client.query<{
      name: string;
      range_start: Date;
      range_end: Date;
      tablespace: string;
      secondary_indexes: number;
      bytes: string;
    }>(
      `select partition::text as name, range_start, range_end, tablespace, secondary_indexes,
              pg_total_relation_size(partition) as bytes
         from ${q}.event_partitions() order by range_start`,
    );
    return r.rows.map((row) => ({
      name: row.name,
      rangeStart: row.range_start,
      rangeEnd: row.range_end,
      compressed: false,
      tablespace: row.tablespace,
      secondaryIndexes: row.secondary_indexes,
      bytes: Number(row.bytes),
    }));
  }
  const r = await client.query<{
    name: string;
    range_start: Date;
    range_end: Date;
    is_compressed: boolean;
    tablespace: string;
    ctablespace: string | null;
    bytes: string;
  }>(
    `select format('%I.%I', ch.schema_name, ch.table_name) as name,
            c.range_start, c.range_end, c.is_compressed,
            coalesce(t.spcname, 'pg_default') as tablespace,
            case when cch.id is null then null else coalesce(ct.spcname, 'pg_default') end as ctablespace,
            coalesce(s.total_bytes, 0) as bytes
       from timescaledb_information.chunks c
       join _timescaledb_catalog.chunk ch on ch.schema_name = c.chunk_schema and ch.table_name = c.chunk_name
       join pg_class k on k.oid = format('%I.%I', ch.schema_name, ch.table_name)::regclass
       left join pg_tablespace t on t.oid = k.reltablespace
       left join _timescaledb_catalog.chunk cch on cch.id = ch.compressed_chunk_id
       left join pg_class ck on ck.oid = to_regclass(quote_ident(cch.schema_name) || '.' || quote_ident(cch.table_name))
       left join pg_tablespace ct on ct.oid = ck.reltablespace
       left join chunks_detailed_size('${q}.events') s on s.chunk_schema = ch.schema_name and s.chunk_name = ch.table_name
      where c.hypertable_schema = $1 and c.hypertable_name = 'events'
      order by c.range_start`,
    [schema],
  );
  return r.rows.map((row) => ({
    name: row.name,
    rangeStart: row.range_start,
    rangeEnd: row.range_end,
    compressed: row.is_compressed,
    tablespace:
      row.ctablespace === null || row.ctablespace === row.tablespace
        ? row.tablespace
        : `${row.tablespace}+${row.ctablespace}`,
    secondaryIndexes: 0,
    bytes: Number(row.bytes),
  }));
}

async function serverNow(client: PoolClient): Promise<Date> {
  return (await client.query<{ now: Date }>('select now() as now')).rows[0]!.now;
}

/** Whether the tier job must run the TimescaleDB policies itself (no background scheduler there). */
async function runsJobsInline(
  client: PoolClient,
  embedded: boolean,
  setting: StorageSettings['runJobs'],
): Promise<boolean> {
  if (setting !== 'auto') return setting === 'always';
  if (embedded) return true;
  const r = await client.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where backend_type like 'TimescaleDB Background Worker Scheduler%'`,
  );
  return r.rows[0]!.n === 0;
}

const running = new Set<string>();

/**
 * One run of the tier job: moves every chunk (TimescaleDB) or partition (PostgreSQL) to the tier its
 * age calls for — compress or strip indexes (warm), move to the cold tablespace (cold), refresh the
 * rollups, export to the archive and drop (frozen) — and, on PostgreSQL, creates partitions ahead.
 * Single runner: a session advisory lock (plus an in-process guard, since the embedded engine has one
 * session); a run that finds it taken returns `skipped: 'locked'`. A step that fails is reported and
 * counted; the other steps still run. The normalizer's scheduler calls it; so does `siem tiers run`.
 */
export function runTiers(target: PoolTarget, options: TierOptions = {}): Promise<TierRunReport> {
  const s = resolveSettings(options);
  const started = Date.now();
  const key = lockKey(s.schema, 'tiers');
  // In-process guard first, taken before any await: on the embedded engine every connection shares one
  // session, where the advisory lock below would let a second runner of this process in.
  const mine = !running.has(key);
  if (!mine) {
    m.tierRuns.inc({ result: 'skipped_locked' });
    return Promise.resolve({ ...emptyReport(s.schema, started), engine: null, skipped: 'locked' });
  }
  running.add(key);
  const run = withPool(target, async (pool) => {
    const client = await checkout(pool);
    let locked = false;
    let engine: Engine = 'postgres';
    const report = emptyReport(s.schema, started);
    try {
      const server = await inspectServer(client);
      const recorded = await recordedEngine(client, s.schema);
      if (recorded === null) {
        throw new SiemError(
          'SIEM_ERR_DB_QUERY',
          `schema ${s.schema} is not migrated: run siem migrate first`,
        );
      }
      engine = recorded;
      report.engine = engine;
      const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [
        key,
      ]);
      locked = got.rows[0]!.ok;
      if (!locked) {
        report.skipped = 'locked';
        m.tierRuns.inc({ result: 'skipped_locked' });
        return report;
      }
      const step = async (name: string, fn: () => Promise<void>) => {
        const t0 = Date.now();
        options.logger?.debug({ step: name, schema: s.schema }, 'tier job step');
        try {
          await fn();
        } catch (err) {
          m.tierErrors.inc({ step: name });
          report.errors.push({ step: name, message: (err as Error).message });
          options.logger?.error({ step: name, err: (err as Error).message }, 'tier job step failed');
        } finally {
          report.stepMs[name] = (report.stepMs[name] ?? 0) + Date.now() - t0;
        }
      };
      if (engine === 'timescaledb') {
        const inline = await runsJobsInline(client, server.embedded, s.runJobs);
        await runTimescale(client, s, inline, report, step, options.logger);
      } else await runPostgres(client, s, report, step);
      m.tierRuns.inc({ result: report.errors.length === 0 ? 'ok' : 'failed' });
      for (const [action, n] of [
        ['compressed', report.compressed],
        ['indexes_dropped', report.indexesDropped],
        ['moved', report.moved],
        ['exported', report.exported.length],
        ['dropped', report.dropped],
        ['created', report.created],
      ] as const) {
        if (n > 0) m.tierActions.inc({ action }, n);
      }
      return report;
    } finally {
      report.durationMs = Date.now() - started;
      if (!report.skipped) m.tierDuration.observe(report.durationMs / 1000);
      if (locked) await client.query('select pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
      client.release();
      options.logger?.info({ ...report, exported: report.exported.length }, 'tier job run');
    }
  });
  return run.finally(() => running.delete(key));
}

function emptyReport(schema: string, started: number): TierRunReport {
  return {
    schema,
    engine: null,
    skipped: null,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    jobsRun: [],
    created: 0,
    compressed: 0,
    indexesDropped: 0,
    moved: 0,
    exported: [],
    dropped: 0,
    errors: [],
    stepMs: {},
  };
}

type Step = (name: string, fn: () => Promise<void>) => Promise<void>;

async function runTimescale(
  client: PoolClient,
  s: StorageSettings,
  inline: boolean,
  report: TierRunReport,
  step: Step,
  logger: LoggerLike | undefined,
): Promise<void> {
  const options = { logger };
  const q = ident(s.schema);
  const jobs = (
    await client.query<{ job_id: number; proc_name: string; target: string }>(
      `select job_id, proc_name, hypertable_name as target from timescaledb_information.jobs
        where hypertable_schema = $1 and hypertable_name in ('events', 'events_hourly', 'events_daily')`,
      [s.schema],
    )
  ).rows;
  const runJob = async (proc: string, target: string) => {
    const job = jobs.find((j) => j.proc_name === proc && j.target === target);
    if (job === undefined) throw new Error(`no ${proc} job for ${s.schema}.${target}: run siem migrate`);
    await client.query(`call run_job(${Number(job.job_id)})`);
    report.jobsRun.push(job.job_id);
  };
  const compressedCount = async () =>
    (await listChunks(client, 'timescaledb', s.schema)).filter((c) => c.compressed).length;
  const before = await compressedCount();

  // Warm: the columnstore policy, then any chunk past warm_after it has not reached (a policy that has
  // not run yet, or a chunk that got rows again) so that the cold and frozen steps find them compressed.
  if (inline) await step('warm', () => runJob('policy_compression', 'events'));
  await step('warm', async () => {
    const now = await serverNow(client);
    for (const c of await listChunks(client, 'timescaledb', s.schema)) {
      if (tierOf(c.rangeEnd, now, s) !== 'hot' && !c.compressed) {
        await client.query('select compress_chunk($1::regclass, if_not_compressed => true)', [c.name]);
      }
    }
  });
  report.compressed = Math.max(0, (await compressedCount()) - before);

  // Cold: compressed chunks move to the cheaper tablespace.
  const cold = s.coldTablespace;
  if (cold !== null) {
    await step('cold', async () => {
      const now = await serverNow(client);
      for (const c of await listChunks(client, 'timescaledb', s.schema)) {
        const tier = tierOf(c.rangeEnd, now, s);
        if ((tier === 'cold' || tier === 'frozen') && c.tablespace !== cold) {
          await client.query(
            'select move_chunk(chunk => $1::regclass, destination_tablespace => $2, index_destination_tablespace => $2)',
            [c.name, cold],
          );
          report.moved++;
        }
      }
    });
  }

  // Rollups: the refresh policies (hourly first: the daily aggregate is computed from it).
  if (inline) {
    await step('rollups', async () => {
      await runJob('policy_refresh_continuous_aggregate', 'events_hourly');
      await runJob('policy_refresh_continuous_aggregate', 'events_daily');
    });
  }

  // Frozen: refresh the rollups over the chunk one last time, export it, drop it.
  await step('frozen', async () => {
    const now = await serverNow(client);
    for (const c of await listChunks(client, 'timescaledb', s.schema)) {
      if (tierOf(c.rangeEnd, now, s) !== 'frozen') continue;
      if (await alreadyFrozen(client, q, c)) {
        options.logger?.warn(
          { chunk: c.name, from: c.rangeStart, to: c.rangeEnd },
          'late rows for a range already frozen: archived and dropped; the rollups keep their earlier counts',
        );
      } else {
        // Literals, not bind parameters: refresh_continuous_aggregate refuses to run inside the implicit
        // transaction of the extended query protocol.
        const from = `'${c.rangeStart.toISOString()}'::timestamptz`;
        const to = `'${c.rangeEnd.toISOString()}'::timestamptz`;
        await client.query(`call refresh_continuous_aggregate('${q}.events_hourly', ${from}, ${to})`);
        await client.query(
          `call refresh_continuous_aggregate('${q}.events_daily', date_trunc('day', ${from}, 'UTC'),
             date_trunc('day', ${to} - interval '1 microsecond', 'UTC') + interval '1 day')`,
        );
      }
      await exportAndDrop(client, s, c, report, async () => {
        await client.query(
          `select drop_chunks('${q}.events', older_than => $2::timestamptz, newer_than => $1::timestamptz)`,
          [c.rangeStart, c.rangeEnd],
        );
      });
    }
  });
}

async function runPostgres(
  client: PoolClient,
  s: StorageSettings,
  report: TierRunReport,
  step: Step,
): Promise<void> {
  const q = ident(s.schema);
  // Hot: partitions ahead of time, so writers never wait for one.
  await step('partitions', async () => {
    const now = await serverNow(client);
    const width = intervalMs(s.chunkInterval);
    const times = Array.from({ length: s.premake + 1 }, (_, i) => new Date(now.getTime() + i * width));
    const r = await client.query<{ n: number }>(
      `select ${q}.ensure_partitions($1::timestamptz[], $2::interval) as n`,
      [times, intervalLiteral(s.chunkInterval)],
    );
    report.created += r.rows[0]?.n ?? 0;
  });

  // Warm: only the primary key (tenant, time, id) stays on partitions past warm_after.
  await step('warm', async () => {
    const now = await serverNow(client);
    for (const c of await listChunks(client, 'postgres', s.schema)) {
      if (tierOf(c.rangeEnd, now, s) !== 'hot' && c.secondaryIndexes > 0) {
        await client.query(`select ${q}.drop_secondary_indexes($1::regclass)`, [c.name]);
        report.indexesDropped++;
      }
    }
  });

  // Cold: move the partition and its remaining index to the cheaper tablespace.
  const cold = s.coldTablespace;
  if (cold !== null) {
    await step('cold', async () => {
      const now = await serverNow(client);
      for (const c of await listChunks(client, 'postgres', s.schema)) {
        const tier = tierOf(c.rangeEnd, now, s);
        if ((tier === 'cold' || tier === 'frozen') && c.tablespace !== cold) {
          await client.query('begin');
          try {
            await client.query(`alter table ${c.name} set tablespace ${ident(cold)}`);
            const idx = await client.query<{ name: string }>(
              'select indexrelid::regclass::text as name from pg_index where indrelid = $1::regclass',
              [c.name],
            );
            for (const i of idx.rows)
              await client.query(`alter index ${i.name} set tablespace ${ident(cold)}`);
            await client.query('commit');
          } catch (err) {
            await client.query('rollback').catch(() => undefined);
            throw err;
          }
          report.moved++;
        }
      }
    });
  }

  // Rollups: from where the last run stopped (or rollup_lookback, whichever is earlier) to now.
  await step('rollups', async () => {
    const now = await serverNow(client);
    const state = await client.query<{ refreshed_to: Date | null }>(
      `select refreshed_to from ${q}.rollup_state`,
    );
    const last = state.rows[0]?.refreshed_to ?? null;
    const lookback = new Date(now.getTime() - intervalMs(s.rollupLookback));
    const from = last === null ? new Date(0) : last < lookback ? last : lookback;
    await client.query(`select ${q}.refresh_rollups($1, $2)`, [from, now]);
    await client.query(`update ${q}.rollup_state set refreshed_to = $1`, [now]);
  });

  // Frozen: final rollup refresh over the partition, export, detach, drop.
  await step('frozen', async () => {
    const now = await serverNow(client);
    for (const c of await listChunks(client, 'postgres', s.schema)) {
      if (tierOf(c.rangeEnd, now, s) !== 'frozen') continue;
      // A range frozen before only holds late rows now: add their counts rather than recompute.
      const fn = (await alreadyFrozen(client, q, c)) ? 'add_to_rollups' : 'refresh_rollups';
      await client.query(`select ${q}.${fn}($1, $2)`, [c.rangeStart, c.rangeEnd]);
      await exportAndDrop(client, s, c, report, async () => {
        await client.query(`alter table ${q}.events detach partition ${c.name}`);
        await client.query(`drop table ${c.name}`);
      });
    }
  });
}

async function alreadyFrozen(client: PoolClient, q: string, c: ChunkInfo): Promise<boolean> {
  const r = await client.query<{ late: boolean }>(
    `select exists (select 1 from ${q}.frozen_ranges where range_start < $2 and range_end > $1) as late`,
    [c.rangeStart, c.rangeEnd],
  );
  return r.rows[0]!.late;
}

/**
 * Exports a chunk (when the archive is enabled), then — in one transaction that first locks the chunk
 * against writes — checks that it still holds exactly the exported rows and drops it. A chunk that got
 * rows after its export is left for the next run, which exports it again.
 */
async function exportAndDrop(
  client: PoolClient,
  s: StorageSettings,
  c: ChunkInfo,
  report: TierRunReport,
  drop: () => Promise<void>,
): Promise<void> {
  const q = ident(s.schema);
  let exported: ArchiveEntry | null = null;
  if (s.archive.enabled) {
    exported = await exportRange(client, {
      table: `${q}.events`,
      schema: s.schema,
      source: c.name,
      rangeStart: c.rangeStart,
      rangeEnd: c.rangeEnd,
      archiveDir: s.archive.dir,
      zstdLevel: s.archive.zstdLevel,
    });
    report.exported.push(exported);
  }
  await client.query('begin');
  try {
    await client.query(`lock table ${c.name} in exclusive mode`);
    if (exported !== null) {
      const n = await client.query<{ n: string }>(
        `select count(*) as n from ${q}.events where time >= $1 and time < $2`,
        [c.rangeStart, c.rangeEnd],
      );
      if (Number(n.rows[0]!.n) !== exported.rows) {
        throw new Error(
          `${c.name} holds ${n.rows[0]!.n} rows but ${exported.rows} were exported; it stays until the next run exports it again`,
        );
      }
    }
    await drop();
    await client.query(
      `insert into ${q}.frozen_ranges (range_start, range_end) values ($1, $2) on conflict do nothing`,
      [c.rangeStart, c.rangeEnd],
    );
    await client.query('commit');
    report.dropped++;
    if (exported !== null) {
      markArchived(archiveFolder(s.archive.dir, s.schema), exported.file);
      exported.state = 'dropped';
    }
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

export interface TierStatusRow {
  tier: TierName;
  /** Chunks/partitions in the database (archive files for frozen). */
  chunks: number;
  bytes: number;
  /** Rows, where known without scanning (archived rows for frozen); null otherwise. */
  rows: number | null;
  oldest: string | null;
  newest: string | null;
  /** Bytes before / after compression (columnstore, or zstd for the archive); null when nothing is compressed. */
  compressionRatio: number | null;
  tablespaces: string[];
}

export interface TierStatus {
  schema: string;
  engine: Engine;
  now: string;
  /** Start of each tier as an age. */
  boundaries: { warm: string; cold: string; frozen: string };
  tiers: TierStatusRow[];
  rollups: Array<{ name: string; rows: number; bytes: number; oldest: string | null; newest: string | null }>;
  archiveDir: string | null;
}

/** Size, count, time span and compression of every tier, for `siem tiers status`. */
export function tierStatus(target: PoolTarget, options: TierOptions = {}): Promise<TierStatus> {
  const s = resolveSettings(options);
  const q = ident(s.schema);
  return withPool(target, async (pool) => {
    const client = await checkout(pool);
    try {
      await inspectServer(client);
      const engine = await recordedEngine(client, s.schema);
      if (engine === null) throw new SiemError('SIEM_ERR_DB_QUERY', `schema ${s.schema} is not migrated`);
      const now = await serverNow(client);
      const chunks = await listChunks(client, engine, s.schema);
      const ratios = new Map<string, { before: number; after: number }>();
      if (engine === 'timescaledb') {
        const r = await client.query<{ name: string; before: string | null; after: string | null }>(
          `select format('%I.%I', chunk_schema, chunk_name) as name,
                  before_compression_total_bytes as before, after_compression_total_bytes as after
             from chunk_columnstore_stats('${q}.events') where compression_status = 'Compressed'`,
        );
        for (const row of r.rows)
          ratios.set(row.name, { before: Number(row.before ?? 0), after: Number(row.after ?? 0) });
      }
      const tiers: TierStatusRow[] = [];
      for (const tier of ['hot', 'warm', 'cold'] as const) {
        const inTier = chunks.filter((c) => {
          const t = tierOf(c.rangeEnd, now, s);
          return t === tier || (tier === 'cold' && t === 'frozen'); // frozen chunks still here await the next run
        });
        let before = 0;
        let after = 0;
        for (const c of inTier) {
          const r = ratios.get(c.name);
          if (r !== undefined) {
            before += r.before;
            after += r.after;
          }
        }
        const span =
          inTier.length === 0
            ? { oldest: null, newest: null }
            : await timeSpan(client, q, inTier[0]!.rangeStart, inTier[inTier.length - 1]!.rangeEnd);
        tiers.push({
          tier,
          chunks: inTier.length,
          bytes: inTier.reduce((a, c) => a + c.bytes, 0),
          rows: null,
          ...span,
          compressionRatio: after > 0 ? before / after : null,
          tablespaces: [...new Set(inTier.map((c) => c.tablespace))],
        });
      }
      const manifest = s.archive.enabled ? readManifest(archiveFolder(s.archive.dir, s.schema)) : null;
      const files = (manifest?.files ?? []).filter((f) => f.state === 'dropped');
      const archivedBytes = files.reduce((a, f) => a + f.bytes, 0);
      tiers.push({
        tier: 'frozen',
        chunks: files.length,
        bytes: archivedBytes,
        rows: files.reduce((a, f) => a + f.rows, 0),
        oldest: isoOrNull(
          files
            .map((f) => f.minTime)
            .filter((t): t is string => t !== null)
            .sort()[0],
        ),
        newest: isoOrNull(
          files
            .map((f) => f.maxTime)
            .filter((t): t is string => t !== null)
            .sort()
            .at(-1),
        ),
        compressionRatio:
          archivedBytes > 0 ? files.reduce((a, f) => a + f.rawBytes, 0) / archivedBytes : null,
        tablespaces: [],
      });
      const rollups = [];
      for (const name of ['events_hourly', 'events_daily']) {
        const size =
          engine === 'timescaledb'
            ? `(select hypertable_size(format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)::regclass)
                  from timescaledb_information.continuous_aggregates where view_schema = $1 and view_name = $2)`
            : `pg_total_relation_size(format('%I.%I', $1::text, $2::text)::regclass)`;
        const r = await client.query<{
          rows: string;
          bytes: string | null;
          oldest: Date | null;
          newest: Date | null;
        }>(
          `select count(*) as rows, ${size} as bytes, min(bucket) as oldest, max(bucket) as newest from ${q}.${name}`,
          [s.schema, name],
        );
        const row = r.rows[0]!;
        rollups.push({
          name: `${s.schema}.${name}`,
          rows: Number(row.rows),
          bytes: Number(row.bytes ?? 0),
          oldest: row.oldest?.toISOString() ?? null,
          newest: row.newest?.toISOString() ?? null,
        });
      }
      return {
        schema: s.schema,
        engine,
        now: now.toISOString(),
        boundaries: { warm: s.warmAfter, cold: s.coldAfter, frozen: s.frozenAfter },
        tiers,
        rollups,
        archiveDir: s.archive.enabled ? archiveFolder(s.archive.dir, s.schema) : null,
      };
    } finally {
      client.release();
    }
  });
}

function isoOrNull(t: string | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}

/**
 * Oldest and newest event time in [from, to) without scanning: a loose index scan over the tenants of
 * the primary key (tenant_id, time, …), then the first and last time of each tenant.
 */
async function timeSpan(
  client: PoolClient,
  q: string,
  from: Date,
  to: Date,
): Promise<{ oldest: string | null; newest: string | null }> {
  const r = await client.query<{ oldest: Date | null; newest: Date | null }>(
    `with recursive tenants(t) as (
       (select tenant_id from ${q}.events where time >= $1 and time < $2 order by tenant_id limit 1)
       union all
       select (select e.tenant_id from ${q}.events e
                where e.tenant_id > tenants.t and e.time >= $1 and e.time < $2 order by e.tenant_id limit 1)
         from tenants where tenants.t is not null
     )
     select min((select min(e.time) from ${q}.events e where e.tenant_id = tenants.t and e.time >= $1 and e.time < $2)) as oldest,
            max((select max(e.time) from ${q}.events e where e.tenant_id = tenants.t and e.time >= $1 and e.time < $2)) as newest
       from tenants where t is not null`,
    [from, to],
  );
  const row = r.rows[0];
  return { oldest: row?.oldest?.toISOString() ?? null, newest: row?.newest?.toISOString() ?? null };
}
