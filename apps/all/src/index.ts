import { join } from 'node:path';
import type { EventBuffer } from '@siem/buffer';
import {
  createAdapterRegistry,
  dataDir,
  drainThenStop,
  FileDeadLetters,
  intakeRoutes,
  NormalizingSink,
  openBuffer,
  openStorage,
  Pump,
  type RoleStarter,
  serveApi,
} from '@siem/runtime';
import { startEmbeddedTimescale } from '@siem/storage';

/**
 * The all role: adapters → buffer → normalizers → storage in one process, no Kafka; the embedded
 * TimescaleDB engine unless storage.database_url names a database. Dead letters go to
 * <data_dir>/dead-letters/*.ndjson.
 */
export const startAll: RoleStarter = async (config, logger, lifecycle) => {
  let url = config.storage.database_url;
  let shownUrl = url;
  const embedded = url === null;
  if (url === null) {
    const dir = join(dataDir(config), 'timescaledb');
    const db = await startEmbeddedTimescale({ dataDir: dir });
    url = db.url;
    shownUrl = db.displayUrl;
    logger.info({ database: db.displayUrl, dataDir: dir }, 'embedded TimescaleDB listening');
    lifecycle.add('embedded-timescaledb', () => db.stop());
  }
  const storage = await openStorage(config, url, logger, lifecycle);
  let buffer: EventBuffer | undefined;
  const registry = createAdapterRegistry(config, () => buffer, logger);
  const api = await serveApi(config, logger, lifecycle, {
    role: 'all',
    tiers: () => storage.tierStatus(),
    readiness: [
      { name: 'database', check: () => storage.writer.healthcheck() },
      {
        name: 'buffer',
        check: async () => ({
          ok: buffer?.stats().state === 'open',
          detail: buffer?.stats().state ?? 'opening',
        }),
      },
    ],
    adapters: registry,
    plugins: intakeRoutes,
    database: { pool: storage.queryPool, schema: storage.settings.schema },
  });
  const sink = new NormalizingSink({
    writer: storage.writer,
    deadLetters: new FileDeadLetters(join(dataDir(config), 'dead-letters'), {
      maxBytes: config.normalizer.dead_letters.max_bytes,
      retentionDays: config.normalizer.dead_letters.retention_days,
      logger,
    }),
    onStored: (rows) => api?.publishStored(rows),
    normalize: config.normalizer,
    logger,
  });
  buffer = await openBuffer(config, logger, lifecycle);
  const opened = buffer;
  const pump = new Pump(opened, sink, {
    maxBatch: config.normalizer.batch_max_records,
    maxInFlight: config.normalizer.max_in_flight_batches,
    logger,
  });
  lifecycle.add('pump', () => drainThenStop(opened, pump, config.shutdown.drain_ms, logger));
  pump.start();
  // Registered last, so it runs first at shutdown: adapters stop accepting before the buffer drains.
  lifecycle.add('adapters', () => registry.stopAll());
  await registry.startEnabled();
  return { adapters: registry, api, database: { url: shownUrl ?? url, embedded } };
};
