import { stringify } from 'yaml';
import type { TopicDefinition } from './topics.js';

export interface StrimziOptions {
  /** Name of the Strimzi `Kafka` resource the topics belong to (label strimzi.io/cluster). */
  cluster: string;
  /** Replicas in the cluster; overrides the definitions' replication factor. */
  replicas?: number;
  namespace?: string;
}

/**
 * Strimzi `KafkaTopic` resources for the topic definitions, so the topic operator in Kubernetes and
 * the admin bootstrap of a local broker create the very same topics.
 */
export function strimziTopics(topics: readonly TopicDefinition[], options: StrimziOptions): string {
  const docs = topics.map((t) => {
    const replicas = options.replicas ?? t.replicationFactor;
    return {
      apiVersion: 'kafka.strimzi.io/v1beta2',
      kind: 'KafkaTopic',
      metadata: {
        name: t.name,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        labels: { 'strimzi.io/cluster': options.cluster, 'app.kubernetes.io/part-of': 'siem-gateway' },
      },
      spec: {
        topicName: t.name,
        partitions: t.partitions,
        replicas,
        config: { ...t.config, 'min.insync.replicas': String(Math.min(2, replicas)) },
      },
    };
  });
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}
