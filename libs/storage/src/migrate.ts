import { type LoggerLike, SiemError } from '@siem/core';
import { intervalMs } from './intervals.js';
import { applyLookupIndexMode, lookupIndexMode } from './lookup-indexes.js';
import {
  checkout,
  ident,
  inspectServer,
  type Pool,
  type PoolClient,
  type PoolTarget,
  type ServerInfo,
  withPool,
} from './pool.js';
import { resolveSettings, type StorageSettings } from './settings.js';
import { defaultMigrationsDir, type Engine, loadMigrations, renderSql } from './sql-files.js';

export interface MigrateOptions extends Partial<StorageSettings> {
  /** Folder of the versioned migrations (default: the repository's sql/migrations). */
  migrationsDir?: string;
  logger?: LoggerLike;
}

export interface MigrationReport {
  schema: string;
  engine: Engine;
  /** Versions applied by this call. */
  applied: Array<{ version: number; name: string }>;
  /** Versions that were already in place. */
  current: number;
  server: ServerInfo;
}

/** Advisory-lock key of an operation on a schema (migrations, tier job). */
export function lockKey(schema: string, what: 'migrate' | 'tiers' | 'partitions'): string {
  return `siem:${schema}:${what}`;
}

/** The engine the schema was created for (recorded with its migrations), or null before the first one. */
export async function recordedEngine(client: PoolClient | Pool, schema: string): Promise<Engine | null> {
  const r = await client
    .query<{ engine: Engine }>(
      `select engine from ${ident(schema)}.schema_migrations order by version limit 1`,
    )
    .catch((err: unknown) => {
      if ((err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '3F000')
        return null;
      throw err;
    });
  return r?.rows[0]?.engine ?? null;
}

async function chooseEngine(
  client: PoolClient,
  info: ServerInfo,
  wanted: StorageSettings['engine'],
  logger: LoggerLike | undefined,
): Promise<Engine> {
  const licensed = (lic: string | null) => lic === null || lic === 'timescale';
  if (wanted === 'postgres') return 'postgres';
  if (info.timescale.installed === null && info.timescale.available !== null) {
    try {
      await client.query('create extension if not exists timescaledb');
      const again = await inspectServer(client);
      info.timescale = again.timescale;
    } catch (err) {
      if (wanted === 'timescaledb') {
        throw new SiemError(
          'SIEM_ERR_DB_MIGRATION',
          'storage.engine is timescaledb but the extension cannot be created',
          {
            cause: err,
          },
        );
      }
    }
  }
  if (info.timescale.installed !== null && licensed(info.timescale.license)) return 'timescaledb';
  if (info.timescale.installed !== null && wanted === 'auto') {
    logger?.warn(
      { license: info.timescale.license },
      'TimescaleDB without its community licence has no compression or continuous aggregates: using native partitions',
    );
  }
  if (wanted === 'timescaledb') {
    throw new SiemError(
      'SIEM_ERR_DB_MIGRATION',
      info.timescale.installed === null
        ? 'storage.engine is timescaledb but the extension is not installed'
        : `storage.engine is timescaledb but its licence is ${info.timescale.license} (compression and continuous aggregates need the community licence)`,
    );
  }
  return 'postgres';
}

/**
 * Applies the pending versioned migrations for the schema, then the settings that come from the
 * configuration (chunk width, lookup indexes, compression and rollup refresh policies; partitions ahead on plain
 * PostgreSQL). Idempotent. Runs under an advisory lock so that two normalizers starting together do
 * not race; each migration is one transaction that re-checks it is still pending (the embedded engine
 * has a single session, where advisory locks do not exclude, but transactions do).
 */
export function migrate(target: PoolTarget, options: MigrateOptions = {}): Promise<MigrationReport> {
  const s = resolveSettings(options);
  const schema = s.schema;
  const q = ident(schema);
  return withPool(target, async (pool) => {
    const client = await checkout(pool);
    let locked = false;
    try {
      const server = await inspectServer(client);
      await client.query('select pg_advisory_lock(hashtext($1))', [lockKey(schema, 'migrate')]);
      locked = true;
      await client.query(`create schema if not exists ${q}`);
      await client.query(
        `create table if not exists ${q}.schema_migrations (
           version integer primary key,
           name text not null,
           engine text not null,
           checksum text not null,
           applied_at timestamptz not null default now()
         )`,
      );
      const engine =
        (await recordedEngine(client, schema)) ??
        (await chooseEngine(client, server, s.engine, options.logger));
      const migrations = loadMigrations(options.migrationsDir ?? defaultMigrationsDir(), engine);
      const applied = new Map(
        (
          await client.query<{ version: number; checksum: string }>(
            `select version, checksum from ${q}.schema_migrations`,
          )
        ).rows.map((r) => [r.version, r.checksum]),
      );
      const report: MigrationReport = { schema, engine, applied: [], current: 0, server };
      for (const m of migrations) {
        const sum = applied.get(m.version);
        if (sum !== undefined) {
          if (sum !== m.checksum) {
            throw new SiemError(
              'SIEM_ERR_DB_MIGRATION',
              `migration ${m.file} changed after it was applied to schema ${schema}; add a new migration instead`,
            );
          }
          report.current++;
          continue;
        }
        await client.query('begin');
        try {
          const again = await client.query(`select 1 from ${q}.schema_migrations where version = $1`, [
            m.version,
          ]);
          if (again.rowCount === 0) {
            await client.query(renderSql(m.template, schema));
            await client.query(
              `insert into ${q}.schema_migrations (version, name, engine, checksum) values ($1, $2, $3, $4)`,
              [m.version, m.name, engine, m.checksum],
            );
            report.applied.push({ version: m.version, name: m.name });
          } else report.current++;
          await client.query('commit');
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          throw new SiemError(
            'SIEM_ERR_DB_MIGRATION',
            `migration ${m.file} failed: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
        options.logger?.info({ schema, version: m.version, migration: m.name, engine }, 'migration applied');
      }
      await applySettings(client, engine, s, server);
      return report;
    } finally {
      if (locked)
        await client
          .query('select pg_advisory_unlock(hashtext($1))', [lockKey(schema, 'migrate')])
          .catch(() => undefined);
      client.release();
    }
  });
}

/** The configuration-dependent part of the layout, reconciled on every migrate. */
async function applySettings(
  client: PoolClient,
  engine: Engine,
  s: StorageSettings,
  server: ServerInfo,
): Promise<void> {
  const q = ident(s.schema);
  if (engine === 'postgres') {
    const step = intervalMs(s.chunkInterval);
    const now = Date.now();
    const times = Array.from({ length: s.premake + 1 }, (_, i) => new Date(now + i * step).toISOString());
    await client.query(`select ${q}.ensure_partitions($1::timestamptz[], $2::interval)`, [
      times,
      s.chunkInterval,
    ]);
    return;
  }
  await client.query(`select set_chunk_time_interval('${q}.events', $1::interval)`, [s.chunkInterval]);
  await applyLookupIndexMode(client, s.schema, lookupIndexMode(s.lookupIndexes, server.embedded));
  // Warm tier: the columnstore policy compresses chunks older than warm_after.
  // For a continuous aggregate's refresh job, the jobs view names the aggregate as the hypertable.
  const jobs = await client.query<{
    job_id: number;
    proc_name: string;
    target: string;
    config: Record<string, unknown>;
  }>(
    `select job_id, proc_name, hypertable_name as target, config
       from timescaledb_information.jobs
      where hypertable_schema = $1 and hypertable_name in ('events', 'events_hourly', 'events_daily')`,
    [s.schema],
  );
  const same = async (a: unknown, b: string) =>
    (await client.query<{ same: boolean }>('select $1::interval = $2::interval as same', [a, b])).rows[0]!
      .same;
  const compression = jobs.rows.find((j) => j.proc_name === 'policy_compression');
  if (compression === undefined || !(await same(compression.config.compress_after, s.warmAfter))) {
    if (compression !== undefined)
      await client.query(`call remove_columnstore_policy('${q}.events', if_exists => true)`);
    await client.query(
      `call add_columnstore_policy('${q}.events', after => '${intervalLiteral(s.warmAfter)}'::interval)`,
    );
  }
  // Rollups: the refresh window reaches one chunk (and one daily bucket) past frozen_after, so that the
  // oldest chunk still present is always inside it; the frozen tier refreshes a chunk's range once more
  // right before it drops the chunk.
  const startOffset = (
    await client.query<{ i: string }>(`select ($1::interval + $2::interval + interval '1 day')::text as i`, [
      s.frozenAfter,
      s.chunkInterval,
    ])
  ).rows[0]!.i;
  // Batches of a week of hourly buckets (a day of daily ones): the default of one bucket per batch
  // makes a first refresh of 90 days take thousands of transactions.
  const caggs: Array<[string, string, number]> = [
    ['events_hourly', '1 hour', 168],
    ['events_daily', '1 day', 7],
  ];
  for (const [view, endOffset, perBatch] of caggs) {
    const job = jobs.rows.find(
      (j) => j.proc_name === 'policy_refresh_continuous_aggregate' && j.target === view,
    );
    if (
      job !== undefined &&
      (await same(job.config.start_offset, startOffset)) &&
      Number(job.config.buckets_per_batch) === perBatch
    ) {
      continue;
    }
    if (job !== undefined)
      await client.query(`select remove_continuous_aggregate_policy('${q}.${view}', if_exists => true)`);
    await client.query(
      `select add_continuous_aggregate_policy('${q}.${view}', start_offset => $1::interval, end_offset => $2::interval,
         schedule_interval => interval '1 hour', buckets_per_batch => $3)`,
      [startOffset, endOffset, perBatch],
    );
  }
}

/** An interval from the configuration, checked, for the few places that take no bind parameters (CALL). */
export function intervalLiteral(text: string): string {
  intervalMs(text);
  return text;
}
