export * from './define-adapter.js';
export * from './example.js';
export * from './load.js';
export * from './redact.js';
export * from './schema.js';
export * from './validate.js';
