export type { AdapterControl, AdapterStatusView } from './adapters.js';
export {
  ApiKeyStore,
  checkAccess,
  generateApiKey,
  hashApiKey,
  isLoopback,
  type KeyRevocation,
  type Principal,
  type RouteAccess,
  readableTenants,
  readKeysFile,
  requireScope,
  routeAccess,
  TOKEN_PREFIX,
  WS_TOKEN_PROTOCOL_PREFIX,
} from './auth.js';
export { CONSOLE_CSP, CONSOLE_PATH, locateConsole } from './console.js';
export { type CursorPosition, decodeCursor, encodeCursor } from './cursor.js';
export { EventQueries, type QueryClient, type QueryPool } from './events-sql.js';
export {
  compileMatcher,
  type EventFilter,
  type FilterParams,
  filterParamsSchema,
  type ParamProblem,
  parseFilter,
} from './filters.js';
export { type HistogramSegment, type HistogramSource, parseInterval, planHistogram } from './histogram.js';
export { type ErrorBody, toHttpError } from './http-errors.js';
export * from './options.js';
export { errorSchema } from './schemas.js';
export * from './server.js';
export { defaultStatSeries, type Rates, STAT_WINDOWS, type StatSeries, StatsSampler } from './stats.js';
export { type ProcessInfo, type StatusSource, TIERS_CACHE_MS, TIERS_TIMEOUT_MS } from './status.js';
export { TAIL_REVOKED_CLOSE_CODE, type TailClientStats, TailHub, type TailOptions } from './tail.js';
