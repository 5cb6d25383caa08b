export { syslogTcpAdapter, syslogTlsAdapter, syslogUdpAdapter } from './adapters.js';
export { type CefRecord, parseCef } from './cef.js';
export {
  EventMarks,
  encodeSyslogMessage,
  keptPayload,
  type MarkMessages,
  utf8Boundary,
} from './event-builder.js';
export { type FrameError, type FramerOptions, type FramingMode, StreamFramer } from './framer.js';
export { type JsonLineOptions, SyslogJsonLines, syslogJsonObject } from './json-line.js';
export { type LeefRecord, parseLeef } from './leef.js';
export { Listener, listenUrl, normalizePeer, reusePortSupported } from './listener.js';
export { type ListenerCounters, type ListenerMetricFamily, ListenerMetrics } from './metrics.js';
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
export { PendingBytesBudget, pendingBytesBudget } from './pending-bytes.js';
export { type CloseReason, SyslogStreamSource } from './stream.js';
export {
  type StreamCloseReason,
  type StreamConnection,
  StreamListener,
  type StreamListenerOptions,
  type StreamListenerTls,
} from './stream-listener.js';
export { isValidTimeZone } from './timezone.js';
export { clientIdentity, type TlsFiles, TlsMaterial, type TlsMaterialEvents } from './tls-material.js';
export { SyslogUdpSource } from './udp.js';
