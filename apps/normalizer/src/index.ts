import { SiemError } from '@siem/core';
import {
  assertLibrdkafkaFeatures,
  BatchConsumer,
  ensureTopics,
  KafkaProducerPool,
  topicDefinitions,
} from '@siem/kafka';
import type { Logger } from '@siem/observability';
import {
  KafkaRowPublisher,
  type Lifecycle,
  NormalizingSink,
  openStorage,
  type RoleView,
  type RootConfig,
  serveApi,
} from '@siem/runtime';

/**
 * The normalizer role: a member of the consumer group on siem.raw → normalizers → storage, with the
 * query API and the tier schedule. Offsets are committed only after a batch is stored; records that
 * cannot be normalized or stored go to siem.dlq with the reason; while the database is unreachable
 * the partitions are paused and the batch is retried.
 *
 * Shutdown order: the consumer finishes its batch and leaves the group → the producer (dead letters,
 * routing) flushes → storage closes → API.
 */
export async function startNormalizer(
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<RoleView> {
  assertLibrdkafkaFeatures();
  const url = config.storage.database_url;
  if (url === null) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      'the normalizer role needs storage.database_url (SIEM_STORAGE__DATABASE_URL): it does not start an embedded database',
    );
  }
  const storage = await openStorage(config, url, logger, lifecycle);
  const n = config.normalizer;
  if (config.kafka.create_topics) {
    // Before subscribing and producing: the raw topic to consume, the dead-letter topic (without it no
    // refused record could ever be let go), and the routing topics when rows are routed.
    const created = await ensureTopics(
      config.kafka,
      topicDefinitions(config.kafka.topics, n.route_severities.length > 0),
    );
    if (created.length > 0) logger.info({ topics: created }, 'created topics');
  }
  const producer = new KafkaProducerPool({ kafka: config.kafka, logger });
  lifecycle.add('producer', () => producer.close());
  await producer.connect();

  const api = await serveApi(config, logger, lifecycle, {
    role: 'normalizer',
    tiers: () => storage.tierStatus(),
    readiness: [
      { name: 'database', check: () => storage.writer.healthcheck() },
      { name: 'kafka', check: () => producer.healthcheck() },
    ],
    database: { pool: storage.queryPool, schema: storage.settings.schema },
  });
  const sink = new NormalizingSink({
    writer: storage.writer,
    deadLetters: {
      deadLetter: (records, reason, error) =>
        producer.deadLetter(records, reason, error, config.kafka.topics.raw.name),
    },
    publisher:
      n.publish_normalized || n.route_severities.length > 0
        ? new KafkaRowPublisher({
            producer,
            normalizedTopic: n.publish_normalized ? config.kafka.topics.normalized.name : null,
            severityPrefix: config.kafka.topics.severity_prefix,
            routeSeverities: n.route_severities,
          })
        : null,
    // This member's stored rows; a tail client sees the partitions this pod owns (publish_normalized
    // gives a cluster-wide stream on the normalized topic).
    onStored: (rows) => api?.publishStored(rows),
    normalize: n,
    logger,
  });

  const consumer = new BatchConsumer({
    kafka: config.kafka,
    groupId: n.group_id,
    topics: [config.kafka.topics.raw.name],
    batchMax: n.batch_max_records,
    // The next batch is fetched and normalized while the previous one is written (commits stay in
    // order): one batch at a time left the database idle while this process normalized.
    maxInFlight: config.normalizer.max_in_flight_batches,
    logger,
    handler: (records) => sink.writeBatch(records),
    onFatal: () => void lifecycle.shutdown('consumer stopped').then(() => process.exit(1)),
  });
  lifecycle.add('consumer', () => consumer.stop());
  await consumer.start();
  return { adapters: null, api, database: { url, embedded: false } };
}
