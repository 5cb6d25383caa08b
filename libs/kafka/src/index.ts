export * from './admin.js';
export * from './client-config.js';
export * from './features.js';
export * from './options.js';
export * from './probe.js';
export * from './producer.js';
export * from './strimzi.js';
export * from './topics.js';
