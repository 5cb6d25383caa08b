export { type DebianPackages, debianPackagesStamp, fetchDebianPackages } from './debian-packages.js';
export {
  createKafkaService,
  fetchKafkaJars,
  type KafkaInstanceOptions,
  kafkaJarsDir,
  kafkaJarsStamp,
  kafkaService,
  type ProducerPerformanceRun,
  producerPerformanceArgs,
  writePayloadFile,
} from './kafka.js';
export { fetchLoggen, type Loggen, loggenStamp } from './loggen.js';
export * from './paths.js';
export { createPostgresService, type PostgresInstanceOptions, postgresService } from './postgres.js';
export { pidAlive, run, runOrThrow, stopPid, waitFor } from './proc.js';
export type { ServiceStatus, StackService } from './service.js';
export * from './stack.js';
export * from './testing/index.js';
export { createTimescaleService, type TimescaleInstanceOptions, timescaleService } from './timescale.js';
export { fetchHelm, HELM_VERSION, helmBinary } from './tools.js';
