export * from './bench.js';
export * from './component-metrics.js';
export * from './logger.js';
export * from './metrics.js';
export * from './metrics-doc.js';
