/** What every network adapter shares: listener lifecycle, stream framing, TLS material, limits, metrics, ACKs. */
export { HeldAcks, type StreamAck } from './ack.js';
export { EventMarks, eventMarks, type MarkMessages } from './event-marks.js';
export {
  type FrameError,
  type FrameHandler,
  type FramerOptions,
  type FramingMode,
  StreamFramer,
} from './framer.js';
export { Listener, listenUrl, normalizePeer, reusePortSupported } from './listener.js';
export {
  declareListenerFamily,
  type ListenerCounters,
  type ListenerMetricFamily,
  ListenerMetrics,
  type ListenerRef,
} from './listener-metrics.js';
export {
  type ConnectionOptions,
  connectionOptions,
  msOption,
  reusePortOption,
  type TlsServerOptions,
  tlsServerOptions,
} from './options.js';
export { PendingBytesBudget, pendingBytesBudget } from './pending-bytes.js';
export { SourceRateLimiter, type TokenBucketOptions } from './rate-limit.js';
export {
  type StreamCloseReason,
  type StreamConnection,
  StreamListener,
  type StreamListenerOptions,
  type StreamListenerTls,
} from './stream-listener.js';
export { clientIdentity, type TlsFiles, TlsMaterial, type TlsMaterialEvents } from './tls-material.js';
