import type { LoggerLike } from '@siem/core';
import { type ArchiveEntry, archiveFolder, exportRange, markArchived } from './archive.js';
import { intervalMs } from './intervals.js';
import { ident, type PoolClient } from './pool.js';
import type { StorageSettings } from './settings.js';
import type { Engine } from './sql-files.js';

/**
 * What the TimescaleDB and PostgreSQL tier steps share: the tier a chunk belongs to, the run report
 * they fill in, and the frozen step's export-then-drop, which must behave the same on both engines.
 */
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
  /** Lookup indexes on the chunk or partition (beyond the primary key). */
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
  /** TimescaleDB, lookup_indexes closed_chunks: indexes built on chunks whose range has ended. */
  indexesBuilt: number;
  moved: number;
  exported: ArchiveEntry[];
  dropped: number;
  errors: Array<{ step: string; message: string }>;
  /** Milliseconds spent in each step. */
  stepMs: Record<string, number>;
}

/** Runs one named step of the tier job: a failure is reported and counted, and the next step still runs. */
export type Step = (name: string, fn: () => Promise<void>) => Promise<void>;

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

/** The database's clock: tiers are decided by it, not by this host's. */
export async function serverNow(client: PoolClient): Promise<Date> {
  return (await client.query<{ now: Date }>('select now() as now')).rows[0]!.now;
}

/** Whether part of this range was frozen (exported and dropped) by an earlier run. */
export async function alreadyFrozen(client: PoolClient, q: string, c: ChunkInfo): Promise<boolean> {
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
export async function exportAndDrop(
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
