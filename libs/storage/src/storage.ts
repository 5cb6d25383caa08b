import type { Logger } from '@siem/observability';
import { type MigrationReport, migrate } from './migrate.js';
import type { StorageOptions } from './options.js';
import { createPool, type Pool } from './pool.js';
import { TierScheduler } from './scheduler.js';
import { type StorageSettings, storageSettings } from './settings.js';
import { runTiers, type TierRunReport, type TierStatus, tierStatus } from './tiers.js';
import { EventWriter } from './writer.js';

export interface Storage {
  readonly settings: StorageSettings;
  readonly pool: Pool;
  /** The query API's own connections (storage.query_pool_size), apart from the writer's. */
  readonly queryPool: Pool;
  /** The sink for normalized events. */
  readonly writer: EventWriter;
  /** The tier job on its schedule (started by `start`, when storage.tiers.enabled). */
  readonly tiers: TierScheduler;
  migrate(): Promise<MigrationReport>;
  runTiers(): Promise<TierRunReport>;
  tierStatus(): Promise<TierStatus>;
  /** Migrates when storage.auto_migrate, connects the writer, starts the tier schedule. */
  start(): Promise<void>;
  /** Stops the schedule, closes the writer, ends the pools. */
  close(): Promise<void>;
}

/**
 * Everything a role needs from storage, from the `storage` configuration section: one pool shared by
 * the writer, the tier job and migrations, and a small one of the query API's own (8 heavy queries on
 * the shared pool used to delay ingestion by minutes). `url` is storage.database_url, or the embedded engine's URL
 * when that is null; `dataDir` is the root data_dir (the archive defaults to <data_dir>/archive).
 */
export function createStorage(
  options: StorageOptions,
  context: { url: string; dataDir: string; logger: Logger },
): Storage {
  const settings = storageSettings(options, context.dataDir);
  const logger = context.logger.child({ component: 'storage' });
  const pool = createPool({ url: context.url, size: options.pool_size, applicationName: 'siem', logger });
  const queryPool = createPool({
    url: context.url,
    size: options.query_pool_size,
    applicationName: 'siem-api',
    logger,
  });
  const writer = new EventWriter({
    pool,
    schema: settings.schema,
    chunkInterval: settings.chunkInterval,
    method: options.write.method,
    batchRows: options.write.batch_rows,
    batchBytes: options.write.batch_bytes,
    timeoutMs: options.write.timeout_ms,
    breakerResetMs: options.write.breaker_reset_ms,
    breakerErrorPercent: options.write.breaker_error_percent,
    breakerVolume: options.write.breaker_volume,
    logger,
  });
  const tiers = new TierScheduler(pool, { ...settings, logger });
  return {
    settings,
    pool,
    queryPool,
    writer,
    tiers,
    migrate: () => migrate(pool, { ...settings, logger }),
    runTiers: () => runTiers(pool, { ...settings, logger }),
    // read on the query pool: the status page must not take a connection from the writer
    tierStatus: () => tierStatus(queryPool, settings),
    async start() {
      if (options.auto_migrate) await migrate(pool, { ...settings, logger });
      await writer.connect();
      if (options.tiers.enabled) tiers.start();
    },
    async close() {
      await tiers.stop();
      await writer.close();
      await Promise.all([pool.end(), queryPool.end()]);
    },
  };
}
