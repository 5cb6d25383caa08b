/**
 * The light door of @siem/syslog (`@siem/syslog/json-lines`): syslog lines to JSON lines without the
 * listeners, metrics or configuration schemas, so that `siem parse` starts without loading pino,
 * prom-client and the schema validator (~0.3 s of its start-up). The main door re-exports the same.
 */

export { type JsonLineOptions, SyslogJsonLines, syslogJsonObject } from './json-line.js';
export type { SyslogFormat } from './parser.js';
export { isValidTimeZone } from './timezone.js';
