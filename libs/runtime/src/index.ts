export * from './circuit.js';
export * from './config-schema.js';
export * from './file-dead-letters.js';
export * from './kafka-publisher.js';
export * from './lifecycle.js';
export * from './normalizing-sink.js';
export * from './pump.js';
export * from './serve-api.js';
