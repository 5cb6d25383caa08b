export * from './event-buffer.js';
export * from './inspect.js';
export * from './options.js';
export { RecordRing, recordBytes } from './record-ring.js';
