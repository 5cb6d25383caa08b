export * from './child-module.js';
export * from './contracts.js';
export * from './errors.js';
export * from './events.js';
export * from './normalized.js';
export * from './payload.js';
export * from './uuidv7.js';
