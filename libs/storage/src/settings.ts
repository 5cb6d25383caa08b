import { join, resolve } from 'node:path';
import { checkAgainst } from '@siem/config';
import { checkTierAges, chooseChunkInterval, intervalMs } from './intervals.js';
import { type StorageOptions, storageOptionsSchema } from './options.js';

/**
 * The storage configuration resolved for use: chunk width chosen, archive folder placed under the data
 * folder, tier ages checked. Every function of this library takes a `Partial<StorageSettings>`; what is
 * missing comes from the schema defaults.
 */
export interface StorageSettings {
  schema: string;
  engine: 'auto' | 'timescaledb' | 'postgres';
  chunkInterval: string;
  /** TimescaleDB: when the lookup indexes are built (lookup-indexes.ts). */
  lookupIndexes: 'auto' | 'on_write' | 'closed_chunks';
  warmAfter: string;
  coldAfter: string;
  frozenAfter: string;
  coldTablespace: string | null;
  runJobs: 'auto' | 'always' | 'never';
  /** Interval between two scheduled tier job runs. */
  schedule: string;
  premake: number;
  rollupLookback: string;
  archive: { enabled: boolean; dir: string; zstdLevel: number };
}

function defaults(): StorageOptions {
  const o = {};
  checkAgainst(storageOptionsSchema, o); // fills the defaults in place
  return o as StorageOptions;
}

/** Settings from the `storage` configuration section; `dataDir` is the root `data_dir`. */
export function storageSettings(options: StorageOptions = defaults(), dataDir = './data'): StorageSettings {
  const t = options.tiers;
  checkTierAges({ warmAfter: t.warm_after, coldAfter: t.cold_after, frozenAfter: t.frozen_after });
  return {
    schema: options.schema,
    engine: options.engine,
    chunkInterval: chooseChunkInterval(
      options.chunk.interval,
      options.chunk.expected_events_per_second,
      options.chunk.target_mb,
    ),
    lookupIndexes: options.lookup_indexes,
    warmAfter: t.warm_after,
    coldAfter: t.cold_after,
    frozenAfter: t.frozen_after,
    coldTablespace: t.cold_tablespace,
    runJobs: t.run_jobs,
    schedule: t.schedule,
    premake: t.premake,
    rollupLookback: t.rollup_lookback,
    archive: {
      enabled: options.archive.enabled,
      dir: resolve(options.archive.dir ?? join(dataDir, 'archive')),
      zstdLevel: options.archive.zstd_level,
    },
  };
}

export function resolveSettings(partial: Partial<StorageSettings> = {}): StorageSettings {
  const base = storageSettings();
  const s = { ...base, ...partial, archive: { ...base.archive, ...partial.archive } };
  checkTierAges(s);
  intervalMs(s.chunkInterval);
  return s;
}
