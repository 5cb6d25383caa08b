export {
  CloudHttpIntake,
  CloudHttpSource,
  cloudHttp,
  cloudHttpAdapter,
  cloudIngestRoutes,
  INGEST_ROUTE,
} from './intake.js';
export { arrayElements, memberValue, skipValue } from './json-split.js';
export { CloudMetrics } from './metrics.js';
export * from './options.js';
export {
  accountOf,
  batchKeys,
  type CloudRecord,
  type CloudRefusal,
  CloudRequestError,
  splitRecords,
} from './records.js';
