export * from './bench.js';
export * from './logger.js';
export * from './metrics.js';
