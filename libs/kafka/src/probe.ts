import rdkafka from 'node-rdkafka';
import type { RdkafkaConfig } from './client-config.js';

/**
 * Asks the cluster for its metadata: true when a broker answered within the time. Used by the
 * readiness probes and by the local stack.
 */
export function probeBrokers(config: RdkafkaConfig | string, timeoutMs = 5_000): Promise<boolean> {
  const conf: RdkafkaConfig =
    typeof config === 'string' ? { 'metadata.broker.list': config, 'client.id': 'siem-probe' } : config;
  return new Promise((resolve) => {
    const producer = new rdkafka.Producer({
      ...conf,
      'socket.connection.setup.timeout.ms': timeoutMs,
      log_level: 0,
    });
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
      try {
        producer.disconnect();
      } catch {
        /* never connected */
      }
    };
    const timer = setTimeout(() => finish(false), timeoutMs + 1_000);
    producer.on('event.error', () => undefined);
    producer.connect({ timeout: timeoutMs }, (err, metadata) => {
      finish(!err && metadata !== undefined && metadata.brokers.length > 0);
    });
  });
}

export interface ClusterMetadata {
  brokers: Array<{ id: number; host: string; port: number }>;
  /** Every topic the cluster reported, with its partition count. */
  topics: Map<string, number>;
}

/**
 * The cluster's brokers and topics (one metadata request), for `siem poke` and `siem consume`.
 * Rejects when no broker answered within the time.
 */
export function clusterMetadata(config: RdkafkaConfig, timeoutMs = 5_000): Promise<ClusterMetadata> {
  return new Promise((resolve, reject) => {
    const producer = new rdkafka.Producer({
      ...config,
      'socket.connection.setup.timeout.ms': timeoutMs,
      log_level: 0,
    });
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      try {
        producer.disconnect();
      } catch {
        /* never connected */
      }
      return true;
    };
    const timer = setTimeout(() => {
      if (settle()) reject(new Error(`no broker answered within ${timeoutMs} ms`));
    }, timeoutMs + 1_000);
    producer.on('event.error', () => undefined);
    producer.connect({ timeout: timeoutMs }, (err, metadata) => {
      if (!settle()) return;
      if (err || metadata === undefined) {
        reject(new Error(err?.message ?? 'no metadata'));
        return;
      }
      resolve({
        brokers: metadata.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port })),
        topics: new Map(metadata.topics.map((t) => [t.name, t.partitions.length])),
      });
    });
  });
}
