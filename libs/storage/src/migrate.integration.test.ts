import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSiemError } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_COLUMNS } from './columns.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';
import { defaultMigrationsDir } from './sql-files.js';
import { createScratchDatabase, dropSchema, uniqueName, warmPool } from './test-support.js';

const eventColumns = async (pool: Pool, schema: string) =>
  (
    await pool.query<{ column_name: string; udt_name: string }>(
      `select column_name, udt_name from information_schema.columns
        where table_schema = $1 and table_name = 'events' order by ordinal_position`,
      [schema],
    )
  ).rows.map((r) => r.column_name);

describe('migrations on PostgreSQL 15 (a database of its own)', () => {
  let db: { url: string; drop(): Promise<void> };
  let pool: Pool;
  beforeAll(async () => {
    db = await createScratchDatabase(stackUrls.postgres, 'siem_test_migrate');
    pool = createPool({ url: db.url, size: 6 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('creates the partitioned layout once, even when several processes migrate together', async () => {
    const reports = await Promise.all(
      [1, 2, 3].map(() => migrate(db.url, { schema: 'siem', chunkInterval: '1 day' })),
    );
    expect(reports.map((r) => r.engine)).toEqual(['postgres', 'postgres', 'postgres']);
    expect(reports.flatMap((r) => r.applied.map((m) => m.version)).sort()).toEqual([1, 2, 3]);
    const recorded = await pool.query('select version, engine from siem.schema_migrations order by version');
    expect(recorded.rows).toEqual([
      { version: 1, engine: 'postgres' },
      { version: 2, engine: 'postgres' },
      { version: 3, engine: 'postgres' },
    ]);
    expect(await eventColumns(pool, 'siem')).toEqual(EVENT_COLUMNS.map((c) => c.column));
    const kind = await pool.query(`select relkind from pg_class where oid = 'siem.events'::regclass`);
    expect(kind.rows[0].relkind).toBe('p');
    // partitions exist from now to `premake` widths ahead, each with its secondary indexes
    const parts = await pool.query(
      `select count(*)::int as n, min(secondary_indexes) as idx, bool_or(now() >= range_start and now() < range_end) as now_covered
         from siem.event_partitions()`,
    );
    expect(parts.rows[0]).toEqual({ n: 5, idx: 6, now_covered: true });
    const again = await migrate(pool, { schema: 'siem', chunkInterval: '1 day' });
    expect(again.applied).toEqual([]);
    expect(again.current).toBe(3);
  });

  it('refuses a migration file that changed after it was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-migrations-'));
    try {
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      writeFileSync(join(dir, '0002_rollups.postgres.sql'), '-- edited\nselect 1;\n');
      const err = await migrate(pool, { schema: 'siem', migrationsDir: dir }).catch((e: unknown) => e);
      expect(isSiemError(err, 'SIEM_ERR_DB_MIGRATION')).toBe(true);
      expect((err as Error).message).toMatch(/0002_rollups.postgres.sql changed after it was applied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('can be told to use the plain PostgreSQL layout and keeps the engine it started with', async () => {
    const r = await migrate(pool, { schema: 'siem_forced', engine: 'postgres' });
    expect(r.engine).toBe('postgres');
    const again = await migrate(pool, { schema: 'siem_forced', engine: 'auto' });
    expect(again.engine).toBe('postgres');
    const err = await migrate(pool, { schema: 'siem_ts', engine: 'timescaledb' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/extension is not installed/);
  });
});

describe('migrations on the TimescaleDB engine (a schema of its own)', () => {
  const schema = uniqueName('siem_test_migrate');
  let pool: Pool;
  beforeAll(async () => {
    pool = createPool({ url: stackUrls.timescale, size: 3, idleTimeoutMs: 0 });
    await warmPool(pool, 3);
  });
  afterAll(async () => {
    await pool?.end();
    await dropSchema(stackUrls.timescale, schema);
  });

  it('creates the hypertable, the columnstore settings, the rollups and their policies', async () => {
    const first = await migrate(pool, {
      schema,
      chunkInterval: '12 hours',
      warmAfter: '3 days',
      frozenAfter: '60 days',
      coldAfter: '30 days',
    });
    expect(first.engine).toBe('timescaledb');
    expect(first.applied.map((m) => m.version)).toEqual([1, 2, 3]);
    expect(await eventColumns(pool, schema)).toEqual(EVENT_COLUMNS.map((c) => c.column));
    const dim = await pool.query(
      `select time_interval from timescaledb_information.dimensions where hypertable_schema = $1 and hypertable_name = 'events'`,
      [schema],
    );
    expect(dim.rows[0].time_interval).toEqual({ hours: 12 });
    const settings = await pool.query(
      `select segmentby, orderby from timescaledb_information.hypertable_columnstore_settings where hypertable = $1::regclass`,
      [`${schema}.events`],
    );
    expect(settings.rows[0]).toEqual({ segmentby: 'tenant_id', orderby: '"time" DESC,event_id DESC' });
    const jobs = await pool.query(
      `select hypertable_name as target, proc_name, config from timescaledb_information.jobs
        where hypertable_schema = $1 order by hypertable_name`,
      [schema],
    );
    expect(jobs.rows).toMatchObject([
      { target: 'events', proc_name: 'policy_compression', config: { compress_after: '3 days' } },
      // frozen_after + one chunk + one day: the oldest chunk still present is always inside the window
      {
        target: 'events_daily',
        proc_name: 'policy_refresh_continuous_aggregate',
        config: { start_offset: '61 days 12:00:00' },
      },
      {
        target: 'events_hourly',
        proc_name: 'policy_refresh_continuous_aggregate',
        config: { start_offset: '61 days 12:00:00' },
      },
    ]);
    // a changed boundary is reconciled on the next migrate, without a new migration
    const second = await migrate(pool, {
      schema,
      chunkInterval: '1 day',
      warmAfter: '5 days',
      frozenAfter: '90 days',
    });
    expect(second.applied).toEqual([]);
    const changed = await pool.query(
      `select hypertable_name as target, config from timescaledb_information.jobs where hypertable_schema = $1 order by hypertable_name`,
      [schema],
    );
    expect(changed.rows).toMatchObject([
      { target: 'events', config: { compress_after: '5 days' } },
      { target: 'events_daily', config: { start_offset: '92 days' } },
      { target: 'events_hourly', config: { start_offset: '92 days' } },
    ]);
    expect(changed.rows).toHaveLength(3);
  });
});
