import { SiemError } from '@siem/core';
import rdkafka from 'node-rdkafka';

export const REQUIRED_FEATURES = ['zstd', 'ssl', 'sasl'] as const;

/**
 * librdkafka decides its codecs when it is compiled: built without libzstd-dev it silently lacks zstd
 * and every zstd topic or producer fails at run time. Check once at start-up and say how to fix it.
 */
export function assertLibrdkafkaFeatures(required: readonly string[] = REQUIRED_FEATURES): void {
  const have = new Set(rdkafka.features);
  const missing = required.filter((f) => !have.has(f));
  if (missing.length > 0) {
    throw new SiemError(
      'SIEM_ERR_NATIVE_FEATURE',
      `librdkafka ${rdkafka.librdkafkaVersion} was built without ${missing.join(', ')} ` +
        `(it has: ${[...have].join(', ')}). Install the Debian packages libzstd-dev libssl-dev libsasl2-dev, ` +
        'then rebuild node-rdkafka (npm rebuild node-rdkafka, with npm_config_nodedir set to the Node install prefix).',
      { details: { missing, features: [...have], version: rdkafka.librdkafkaVersion } },
    );
  }
}

export function librdkafkaInfo(): { version: string; features: string[] } {
  return { version: rdkafka.librdkafkaVersion, features: [...rdkafka.features] };
}
