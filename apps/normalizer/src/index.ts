import { SiemError } from '@siem/core';
import { assertLibrdkafkaFeatures } from '@siem/kafka';
import type { Logger } from '@siem/observability';
import { type Lifecycle, type RootConfig, serveApi } from '@siem/runtime';

/**
 * The normalizer role: Kafka consumer group on siem.raw → normalizers → storage writer, with the
 * query API. (Consumer, normalizers and writer are wired here as they land; see the issues.)
 */
export async function startNormalizer(
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<void> {
  assertLibrdkafkaFeatures();
  if (config.storage.database_url === null) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      'the normalizer role needs storage.database_url (SIEM_STORAGE__DATABASE_URL): it does not start an embedded database',
    );
  }
  await serveApi(config, logger, lifecycle, []);
}
