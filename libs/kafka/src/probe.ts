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
