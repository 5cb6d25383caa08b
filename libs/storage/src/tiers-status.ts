import { SiemError } from '@siem/core';
import { archiveFolder, readManifest } from './archive.js';
import { recordedEngine } from './migrate.js';
import { checkout, ident, inspectServer, type PoolClient, type PoolTarget, withPool } from './pool.js';
import { resolveSettings } from './settings.js';
import type { Engine } from './sql-files.js';
import { type ChunkInfo, serverNow, type TierName, type TierOptions, tierOf } from './tiers-common.js';
import { listPartitions } from './tiers-postgres.js';
import { columnstoreSizes, listTimescaleChunks } from './tiers-timescaledb.js';

/**
 * What `siem tiers status` shows: each tier's chunks, bytes, time span and compression, the frozen tier
 * read from the archive manifest, and the rollups.
 */

/** The chunks (TimescaleDB) or partitions (PostgreSQL) of the events table, oldest first. */
export function listChunks(client: PoolClient, engine: Engine, schema: string): Promise<ChunkInfo[]> {
  return engine === 'postgres' ? listPartitions(client, schema) : listTimescaleChunks(client, schema);
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
      // PostgreSQL partitions are never compressed: no ratio for the hot, warm and cold rows there.
      const ratios =
        engine === 'timescaledb'
          ? await columnstoreSizes(client, s.schema)
          : new Map<string, { before: number; after: number }>();
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
