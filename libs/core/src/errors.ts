/**
 * The error catalogue. Every error the project raises on purpose carries a stable code from this table,
 * whether it is worth retrying, and whether the process should stop. Codes are part of the public
 * contract (logs, API answers, metrics labels): never rename one, add a new one instead.
 */
export interface ErrorSpec {
  readonly summary: string;
  /** Trying the same operation again later can succeed (service down, queue full). */
  readonly retriable: boolean;
  /** The process cannot continue (bad configuration, missing native feature). */
  readonly fatal: boolean;
}

export const errorCatalogue = {
  SIEM_ERR_CONFIG_INVALID: {
    summary: 'configuration does not match its schema',
    retriable: false,
    fatal: true,
  },
  SIEM_ERR_CONFIG_READ: {
    summary: 'configuration file cannot be read or parsed',
    retriable: false,
    fatal: true,
  },
  SIEM_ERR_NATIVE_FEATURE: {
    summary: 'a native library lacks a required feature',
    retriable: false,
    fatal: true,
  },
  SIEM_ERR_NOT_CONNECTED: { summary: 'a sink cannot reach its service', retriable: true, fatal: false },
  SIEM_ERR_TIMEOUT: { summary: 'an operation did not finish in time', retriable: true, fatal: false },
  SIEM_ERR_CIRCUIT_OPEN: { summary: 'the circuit breaker is open', retriable: true, fatal: false },
  SIEM_ERR_SHUTTING_DOWN: { summary: 'the component is stopping', retriable: false, fatal: false },
  SIEM_ERR_BUFFER_CLOSED: { summary: 'the buffer is closed', retriable: false, fatal: false },
  SIEM_ERR_BUFFER_FULL: { summary: 'the buffer and its disk cap are full', retriable: true, fatal: false },
  SIEM_ERR_BUFFER_CORRUPT: { summary: 'a buffer segment is corrupt', retriable: false, fatal: false },
  SIEM_ERR_BUFFER_IO: { summary: 'the buffer cannot read or write its disk', retriable: true, fatal: false },
  SIEM_ERR_KAFKA_DELIVERY: { summary: 'Kafka did not accept a record', retriable: true, fatal: false },
  SIEM_ERR_KAFKA_QUEUE_FULL: { summary: 'the local producer queue is full', retriable: true, fatal: false },
  SIEM_ERR_KAFKA_RECORD_TOO_LARGE: {
    summary: 'Kafka can never accept this record',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_KAFKA_ADMIN: { summary: 'a Kafka admin operation failed', retriable: true, fatal: false },
  SIEM_ERR_DB_WRITE: { summary: 'the database rejected a write', retriable: true, fatal: false },
  SIEM_ERR_DB_MIGRATION: { summary: 'a database migration failed', retriable: false, fatal: true },
  SIEM_ERR_DB_QUERY: { summary: 'a database query failed', retriable: true, fatal: false },
  SIEM_ERR_ARCHIVE_INVALID: {
    summary: 'an archive file does not match its manifest',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_RAW_EVENT_INVALID: {
    summary: 'a record is not a valid raw event',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_NORMALIZE: { summary: 'an event cannot be normalized', retriable: false, fatal: false },
  SIEM_ERR_PARSE: { summary: 'input cannot be parsed', retriable: false, fatal: false },
  SIEM_ERR_FRAME: {
    summary: 'a stream frame is malformed or over the size limit',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_ADAPTER_UNKNOWN: {
    summary: 'no adapter is registered under this name',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_ADAPTER_STATE: {
    summary: 'the adapter cannot do this in its current state',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_ADAPTER_LISTEN: {
    summary: 'the adapter cannot listen on its address',
    retriable: true,
    fatal: false,
  },
  SIEM_ERR_TLS_MATERIAL: {
    summary: 'TLS certificate or key cannot be loaded',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_AUTH: { summary: 'authentication failed', retriable: false, fatal: false },
  SIEM_ERR_FORBIDDEN: { summary: 'the credentials lack the required scope', retriable: false, fatal: false },
  SIEM_ERR_REQUEST_INVALID: {
    summary: 'a request parameter or body is invalid',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_NOT_FOUND: { summary: 'no such route or resource', retriable: false, fatal: false },
  SIEM_ERR_PAYLOAD_TOO_LARGE: {
    summary: 'a request body (or a record in it) is over its size limit',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_UNSUPPORTED_MEDIA_TYPE: {
    summary: 'a request body has a content type or content encoding that is not accepted',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_RATE_LIMITED: {
    summary: 'too many requests for these credentials',
    retriable: true,
    fatal: false,
  },
  SIEM_ERR_UNAVAILABLE: {
    summary: 'the endpoint needs a component this role does not run',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_INTERNAL: {
    summary: 'an unexpected failure (a bug): see the logs',
    retriable: false,
    fatal: false,
  },
  SIEM_ERR_STACK_SERVICE: { summary: 'a local stack service did not start', retriable: false, fatal: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface SiemErrorOptions {
  cause?: unknown;
  /** Structured facts for logs and API answers (e.g. the list of configuration problems). */
  details?: unknown;
}

export class SiemError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly fatal: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: SiemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SiemError';
    this.code = code;
    const spec: ErrorSpec = errorCatalogue[code];
    this.retriable = spec.retriable;
    this.fatal = spec.fatal;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

/** Thrown by a sink that cannot reach its service: the runtime backs off and reconnects. */
export class NotConnectedError extends SiemError {
  constructor(service: string, options: SiemErrorOptions = {}) {
    super('SIEM_ERR_NOT_CONNECTED', `${service} is not reachable`, options);
    this.name = 'NotConnectedError';
  }
}

export function isSiemError(err: unknown, code?: ErrorCode): err is SiemError {
  return err instanceof SiemError && (code === undefined || err.code === code);
}

export function isRetriable(err: unknown): boolean {
  return err instanceof SiemError ? err.retriable : false;
}

/** A short, bounded label for metrics: the error code when we have one, else a generic class. */
export function errorReason(err: unknown): string {
  if (err instanceof SiemError) return err.code;
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') {
    return `SYS_${(err as NodeJS.ErrnoException).code}`;
  }
  return 'UNKNOWN';
}
