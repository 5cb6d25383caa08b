import { SiemError } from '@siem/core';
import { lookupIndexMode } from './lookup-indexes.js';
import { storageMetrics as m } from './metrics.js';
import { lockKey, recordedEngine } from './migrate.js';
import { checkout, inspectServer, type PoolTarget, withPool } from './pool.js';
import { resolveSettings } from './settings.js';
import type { Engine } from './sql-files.js';
import type { Step, TierOptions, TierRunReport } from './tiers-common.js';
import { runPostgres } from './tiers-postgres.js';
import { runsJobsInline, runTimescale } from './tiers-timescaledb.js';

export {
  type ChunkInfo,
  type TierName,
  type TierOptions,
  type TierRunReport,
  tierOf,
} from './tiers-common.js';
export { listChunks, type TierStatus, type TierStatusRow, tierStatus } from './tiers-status.js';

/**
 * The tier job: one runner at a time, each step timed and counted, the engine's own steps in
 * `tiers-timescaledb.ts` and `tiers-postgres.ts`; what both share is in `tiers-common.ts`, and
 * `siem tiers status` in `tiers-status.ts`.
 */

const running = new Set<string>();

/**
 * One run of the tier job: moves every chunk (TimescaleDB) or partition (PostgreSQL) to the tier its
 * age calls for — build the lookup indexes of closed chunks (TimescaleDB, closed_chunks), compress or
 * strip indexes (warm), move to the cold tablespace (cold), refresh the
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
      const step: Step = async (name, fn) => {
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
        const lookup = lookupIndexMode(s.lookupIndexes, server.embedded);
        await runTimescale(client, s, inline, lookup, report, step, options.logger);
      } else await runPostgres(client, s, report, step);
      m.tierRuns.inc({ result: report.errors.length === 0 ? 'ok' : 'failed' });
      for (const [action, n] of [
        ['compressed', report.compressed],
        ['indexes_dropped', report.indexesDropped],
        ['indexes_built', report.indexesBuilt],
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
    indexesBuilt: 0,
    moved: 0,
    exported: [],
    dropped: 0,
    errors: [],
    stepMs: {},
  };
}
