export { renderExampleConfig } from './commands/config-example.js';
export * from './commands/index.js';
export * from './roles.js';
