export * from './config-schema.js';
export * from './lifecycle.js';
export * from './serve-api.js';
export * from './circuit.js';
export * from './pump.js';
