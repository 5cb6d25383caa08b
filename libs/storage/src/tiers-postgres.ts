import { intervalMs } from './intervals.js';
import { intervalLiteral } from './migrate.js';
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
 * The tier steps on PostgreSQL: native range partitions made ahead of time (hot), stripped of their
 * secondary indexes (warm), moved to the cold tablespace (cold), and exported, detached and dropped
 * (frozen); plain rollup tables refreshed by the job, since PostgreSQL has no continuous aggregates.
 */

/** The partitions of the events table, oldest first. */
export async function listPartitions(client: PoolClient, schema: string): Promise<ChunkInfo[]> {
  const q = ident(schema);
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

/** The partition, warm, cold, rollup and frozen steps over the partitions of the events table. */
export async function runPostgres(
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
    for (const c of await listPartitions(client, s.schema)) {
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
      for (const c of await listPartitions(client, s.schema)) {
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
    for (const c of await listPartitions(client, s.schema)) {
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
