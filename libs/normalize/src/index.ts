export { recordEventId } from './event-id.js';
export { parseTime } from './fields.js';
export { type NormalizeOptions, normalize, normalizeAll } from './normalize.js';
export * from './severity.js';
export {
  clampTimes,
  DEFAULT_TIME_BOUNDS,
  type TimeBoundsOptions,
  timeBoundsSchema,
} from './time-bounds.js';
export {
  EVENT_DATA_ORDER,
  LOGON_TYPES,
  SECURITY_EVENTS,
  type SecurityEventSpec,
} from './windows/security-events.js';
