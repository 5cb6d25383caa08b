import { join, resolve } from 'node:path';
import { startGateway } from '@siem/gateway';
import { startNormalizer } from '@siem/normalizer';
import type { Logger } from '@siem/observability';
import { type Lifecycle, type RootConfig, serveApi } from '@siem/runtime';
import { startEmbeddedTimescale } from '@siem/storage';

export const roles = ['gateway', 'normalizer', 'all'] as const;
export type Role = (typeof roles)[number];

/**
 * The all role: adapters → buffer → normalizers → storage in one process, no Kafka; the embedded
 * TimescaleDB engine unless storage.database_url names a database.
 */
export async function startAll(config: RootConfig, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  let databaseUrl = config.storage.database_url;
  if (databaseUrl === null) {
    const dataDir = join(resolve(config.data_dir), 'timescaledb');
    const db = await startEmbeddedTimescale({ dataDir });
    databaseUrl = db.url;
    logger.info({ database: db.url, dataDir }, 'embedded TimescaleDB listening');
    lifecycle.add('embedded-timescaledb', () => db.stop());
  }
  await serveApi(config, logger, lifecycle, []);
}

/** Starts a role; every component it starts registers its shutdown on `lifecycle`, even on failure. */
export function startRole(
  role: Role,
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<void> {
  switch (role) {
    case 'gateway':
      return startGateway(config, logger, lifecycle);
    case 'normalizer':
      return startNormalizer(config, logger, lifecycle);
    case 'all':
      return startAll(config, logger, lifecycle);
  }
}
