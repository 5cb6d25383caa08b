import { SiemError } from '@siem/core';
import rdkafka from 'node-rdkafka';
import { baseClientConfig } from './client-config.js';
import type { KafkaOptions } from './options.js';
import type { TopicDefinition } from './topics.js';

const TOPIC_ALREADY_EXISTS = 36;

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(
  options: KafkaOptions,
  topics: readonly TopicDefinition[],
  timeoutMs = 30_000,
): Promise<string[]> {
  const admin = rdkafka.AdminClient.create({ ...baseClientConfig(options, 'admin') });
  const created: string[] = [];
  try {
    for (const t of topics) {
      const made = await new Promise<boolean>((resolve, reject) => {
        admin.createTopic(
          {
            topic: t.name,
            num_partitions: t.partitions,
            replication_factor: t.replicationFactor,
            config: t.config,
          },
          timeoutMs,
          (err) => {
            if (!err) resolve(true);
            else if (err.code === TOPIC_ALREADY_EXISTS) resolve(false);
            else
              reject(
                new SiemError('SIEM_ERR_KAFKA_ADMIN', `cannot create topic ${t.name}: ${err.message}`, {
                  cause: err,
                }),
              );
          },
        );
      });
      if (made) created.push(t.name);
    }
  } finally {
    admin.disconnect();
  }
  return created;
}
