import type { KafkaOptions } from './options.js';

export type RdkafkaConfig = Record<string, string | number | boolean>;

/** librdkafka global properties for any client (producer, consumer, admin) from the Kafka options. */
export function baseClientConfig(options: KafkaOptions, role: string): RdkafkaConfig {
  const config: RdkafkaConfig = {
    'metadata.broker.list': options.brokers,
    'client.id': `${options.client_id}-${role}`,
    'security.protocol': options.security_protocol,
    'socket.keepalive.enable': true,
  };
  if (options.security_protocol.startsWith('sasl')) {
    config['sasl.mechanisms'] = options.sasl.mechanism;
    if (options.sasl.username !== undefined) config['sasl.username'] = options.sasl.username;
    if (options.sasl.password !== undefined) config['sasl.password'] = options.sasl.password;
  }
  if (options.security_protocol.endsWith('ssl')) {
    if (options.ssl.ca_file !== undefined) config['ssl.ca.location'] = options.ssl.ca_file;
    if (options.ssl.cert_file !== undefined) config['ssl.certificate.location'] = options.ssl.cert_file;
    if (options.ssl.key_file !== undefined) config['ssl.key.location'] = options.ssl.key_file;
    if (options.ssl.key_password !== undefined) config['ssl.key.password'] = options.ssl.key_password;
    config['ssl.endpoint.identification.algorithm'] = options.ssl.verify_hostname ? 'https' : 'none';
  }
  return { ...config, ...options.librdkafka };
}
