import { severityNames } from '@siem/core';
import type { KafkaOptions } from './options.js';

export interface TopicDefinition {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs, as strings (Kafka's admin API and Strimzi both take them so). */
  config: Record<string, string>;
}

const HOUR_MS = 3_600_000;

function configFor(
  retentionHours: number,
  replicationFactor: number,
  retentionBytes = -1,
): Record<string, string> {
  return {
    'compression.type': 'zstd',
    'retention.ms': String(retentionHours * HOUR_MS),
    ...(retentionBytes >= 0 ? { 'retention.bytes': String(retentionBytes) } : {}),
    'cleanup.policy': 'delete',
    // With one replica there is nothing to wait for; otherwise an acks=all write needs two copies.
    'min.insync.replicas': String(Math.min(2, replicationFactor)),
    'max.message.bytes': String(4 * 1024 * 1024),
  };
}

/**
 * Every topic the project uses, from the configuration. The admin bootstrap, the Strimzi KafkaTopic
 * resources and the docs are all generated from this list.
 */
export function topicDefinitions(options: KafkaOptions['topics'], includeSeverity = true): TopicDefinition[] {
  const defs: TopicDefinition[] = [options.raw, options.normalized, options.dlq].map((t) => ({
    name: t.name,
    partitions: t.partitions,
    replicationFactor: t.replication_factor,
    config: configFor(t.retention_hours, t.replication_factor, t.retention_bytes),
  }));
  if (includeSeverity) {
    for (const level of severityNames) {
      defs.push({
        name: `${options.severity_prefix}${level}`,
        partitions: options.severity_partitions,
        replicationFactor: options.raw.replication_factor,
        config: configFor(options.normalized.retention_hours, options.raw.replication_factor),
      });
    }
  }
  return defs;
}
