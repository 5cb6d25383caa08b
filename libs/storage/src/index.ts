export * from './embedded/embedded.js';
export * from './options.js';
