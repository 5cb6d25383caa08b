export { syslogAdapters, syslogTcpAdapter, syslogTlsAdapter, syslogUdpAdapter } from './adapters.js';
export { type CefRecord, parseCef } from './cef.js';
export { encodeSyslogMessage } from './event-builder.js';
export { type JsonLineOptions, SyslogJsonLines, syslogJsonObject } from './json-line.js';
export { type LeefRecord, parseLeef } from './leef.js';
export * from './options.js';
export {
  type ParsedHeader,
  type ParsedSyslog,
  type ParseErrorReason,
  type ParseOptions,
  parseErrorReasons,
  parseSyslog,
  parseSyslogHeader,
  type SyslogFormat,
} from './parser.js';
export { type CloseReason, SyslogStreamSource } from './stream.js';
export { isValidTimeZone } from './timezone.js';
export { SyslogUdpSource } from './udp.js';
