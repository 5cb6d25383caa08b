/**
 * Test support shared by the libraries' and apps' tests and benchmarks (never by production code):
 * throwaway certificates and an openssl client, the real role processes with their logs and metrics,
 * Kafka topics and databases read back with plain clients. The contract fakes (in-memory intake, source
 * context, capturing logger) are @siem/core/testing.
 */
export * from './certs.js';
export * from './database.js';
export * from './default-ports.js';
export * from './kafka-topics.js';
export * from './prometheus.js';
export * from './role-process.js';
export * from './wait.js';
