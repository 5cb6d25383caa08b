export * from './archive.js';
export * from './columns.js';
export { type BulkChannel, EngineError } from './embedded/bulk-channel.js';
export * from './embedded/embedded.js';
export * from './intervals.js';
export { type MigrateOptions, type MigrationReport, migrate, recordedEngine } from './migrate.js';
export * from './options.js';
export {
  createPool,
  inspectServer,
  isConnectionError,
  type Pool,
  type PoolClient,
  type PoolOptions,
  type PoolTarget,
  type ServerInfo,
} from './pool.js';
export { type CoercionReason, coercionReasons } from './row-encoding.js';
export { type SampleOptions, sampleBatch, sampleEvent } from './sample-events.js';
export { TierScheduler } from './scheduler.js';
export { resolveSettings, type StorageSettings, storageSettings } from './settings.js';
export type { Engine } from './sql-files.js';
export { defaultMigrationsDir } from './sql-files.js';
export { createStorage, type Storage } from './storage.js';
export * from './synthetic-events.js';
export { type ScratchEngine, scratchEngines } from './test-support.js';
export * from './tiers.js';
export { createEventWriter, EventWriter, type EventWriterOptions, type WriteMethod } from './writer.js';
