export { type WindowsEventsInput, windowsAdapters, windowsEventsAdapter } from './adapter.js';
export {
  computerOf,
  WindowsEventBuilder,
  type WindowsParseErrorReason,
  windowsParseErrorReasons,
} from './event-builder.js';
export {
  ackFrame,
  LJ_ACK,
  LJ_COMPRESSED,
  LJ_JSON,
  LJ_VERSION,
  LJ_WINDOW,
  LumberjackDecoder,
  type LumberjackDecoderOptions,
  type LumberjackError,
  type LumberjackHandler,
} from './lumberjack.js';
export * from './options.js';
export { type WindowsCloseReason, WindowsEventsSource } from './source.js';
