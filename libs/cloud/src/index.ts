export { acceptedMediaType, decodeBody, encodingOf } from './body.js';
export { type CloudRefusal, CloudRequestError } from './errors.js';
export { CloudHttpIntake, cloudAdapters, cloudHttp, cloudHttpAdapter, cloudIngestRoutes } from './intake.js';
export { BatchScanner, type ScanLimits, type ScannedRecord } from './json-scan.js';
export { CloudMetrics } from './metrics.js';
export * from './options.js';
export { accountOf, batchKeys, type CloudRecord, parseRecords, scanRecords } from './records.js';
export { INGEST_ROUTE, type IngestRouteHost } from './routes.js';
export { CloudHttpSource } from './source.js';
