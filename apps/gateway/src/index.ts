import {
  assertLibrdkafkaFeatures,
  baseClientConfig,
  ensureTopics,
  probeBrokers,
  topicDefinitions,
} from '@siem/kafka';
import type { Logger } from '@siem/observability';
import { type Lifecycle, type RootConfig, serveApi } from '@siem/runtime';

/**
 * The gateway role: adapters → buffer → Kafka producer pool, with the control API.
 * (Adapters, buffer and producer are wired here as they land; see the issues.)
 */
export async function startGateway(config: RootConfig, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  assertLibrdkafkaFeatures();
  if (config.kafka.create_topics) {
    const created = await ensureTopics(config.kafka, topicDefinitions(config.kafka.topics, false));
    if (created.length > 0) logger.info({ topics: created }, 'created topics');
  }
  const kafkaConfig = baseClientConfig(config.kafka, 'probe');
  await serveApi(config, logger, lifecycle, [
    { name: 'kafka', check: async () => ({ ok: await probeBrokers(kafkaConfig, 2_000) }) },
  ]);
}
