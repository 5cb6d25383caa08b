export * from './options.js';
export * from './server.js';
