export { fetchKafkaJars, kafkaJarsDir } from './kafka.js';
export * from './paths.js';
export type { ServiceStatus, StackService } from './service.js';
export * from './stack.js';
