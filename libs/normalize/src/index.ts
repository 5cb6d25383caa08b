export { recordEventId } from './event-id.js';
export { parseTime } from './fields.js';
export { normalize, normalizeAll } from './normalize.js';
export * from './severity.js';
export {
  EVENT_DATA_ORDER,
  LOGON_TYPES,
  SECURITY_EVENTS,
  type SecurityEventSpec,
} from './windows/security-events.js';
