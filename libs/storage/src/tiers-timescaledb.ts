import type { LoggerLike } from '@siem/core';
import { indexClosedChunks, type LookupIndexMode, lookupIndexCounts } from './lookup-indexes.js';
import { ident, type PoolClient } from './pool.js';
import type { StorageSettings } from './settings.js';
import {
  alreadyFrozen,
  type ChunkInfo,
  exportAndDrop,
  type Step,
  serverNow,
  type TierRunReport,
  tierOf,
} from './tiers-common.js';

/**
 * The tier steps on TimescaleDB: the hypertable's chunks go to the columnstore (warm), move to the cold
 * tablespace (cold), and are exported and dropped (frozen); the continuous aggregates hold the rollups.
 * Where no background scheduler runs the policies (the embedded engine), the tier job runs them itself.
 */

/** The chunks of the events hypertable, oldest first. */
export async function listTimescaleChunks(client: PoolClient, schema: string): Promise<ChunkInfo[]> {
  const q = ident(schema);
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
  const lookup = await lookupIndexCounts(client, schema);
  return r.rows.map((row) => ({
    name: row.name,
    rangeStart: row.range_start,
    rangeEnd: row.range_end,
    compressed: row.is_compressed,
    tablespace:
      row.ctablespace === null || row.ctablespace === row.tablespace
        ? row.tablespace
        : `${row.tablespace}+${row.ctablespace}`,
    secondaryIndexes: lookup.get(row.name) ?? 0,
    bytes: Number(row.bytes),
  }));
}

/** Whether the tier job must run the TimescaleDB policies itself (no background scheduler there). */
export async function runsJobsInline(
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

/** The lookup-index, warm, cold, rollup and frozen steps over the chunks of the events hypertable. */
export async function runTimescale(
  client: PoolClient,
  s: StorageSettings,
  inline: boolean,
  lookup: LookupIndexMode,
  report: TierRunReport,
  step: Step,
  logger: LoggerLike | undefined,
): Promise<void> {
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
  // Lookup indexes of hot chunks whose range has ended (closed_chunks); older ones go to the columnstore.
  if (lookup === 'closed_chunks') {
    await step('indexes', async () => {
      report.indexesBuilt += await indexClosedChunks(client, s.schema, s.warmAfter);
    });
  }
  const compressedCount = async () =>
    (await listTimescaleChunks(client, s.schema)).filter((c) => c.compressed).length;
  const before = await compressedCount();

  // Warm: the columnstore policy, then any chunk past warm_after it has not reached (a policy that has
  // not run yet, or a chunk that got rows again) so that the cold and frozen steps find them compressed.
  if (inline) await step('warm', () => runJob('policy_compression', 'events'));
  await step('warm', async () => {
    const now = await serverNow(client);
    for (const c of await listTimescaleChunks(client, s.schema)) {
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
      for (const c of await listTimescaleChunks(client, s.schema)) {
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
    for (const c of await listTimescaleChunks(client, s.schema)) {
      if (tierOf(c.rangeEnd, now, s) !== 'frozen') continue;
      if (await alreadyFrozen(client, q, c)) {
        logger?.warn(
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

/** Bytes before and after compression of each compressed chunk, by chunk name. */
export async function columnstoreSizes(
  client: PoolClient,
  schema: string,
): Promise<Map<string, { before: number; after: number }>> {
  const r = await client.query<{ name: string; before: string | null; after: string | null }>(
    `select format('%I.%I', chunk_schema, chunk_name) as name,
            before_compression_total_bytes as before, after_compression_total_bytes as after
       from chunk_columnstore_stats('${ident(schema)}.events') where compression_status = 'Compressed'`,
  );
  return new Map(
    r.rows.map((row) => [row.name, { before: Number(row.before ?? 0), after: Number(row.after ?? 0) }]),
  );
}
