/**
 * The component contracts. Sources (adapters) turn what arrives into encoded raw events and offer them
 * to an Intake (the buffer); sinks deliver batches to a service (Kafka, the database). Everything that
 * moves between the adapters and the producer is a BufferRecord: the Kafka key and the encoded value.
 */
export interface BufferRecord {
  /** Kafka record key: the source host, or the tenant, by configuration. */
  key: string;
  /** The encoded raw event (see events.ts). */
  value: Buffer;
}

/**
 * Result of offering a batch to an intake.
 * - `ok`: taken; keep reading.
 * - `pause`: taken, but stop reading (TCP/TLS pause their sockets) until the intake calls resume.
 * - `rejected`: not taken; the caller counts every record as dropped with the given reason.
 */
export type OfferResult = 'ok' | 'pause' | 'rejected';

export interface Intake {
  offer(records: BufferRecord[]): OfferResult;
  /**
   * Takes the records onto disk and resolves once they are written and synced (they survive a crash
   * of this process and a power loss), for a source that acknowledges only what is durable
   * (`ack: durable`). Resolves 'rejected' when they cannot be made durable. Optional: an intake
   * without it cannot serve durable acknowledgement.
   */
  offerDurable?(records: BufferRecord[]): Promise<OfferResult>;
  /** Registers a callback for the moment a paused intake takes records again. Returns an unsubscribe. */
  onResume(listener: () => void): () => void;
  /** Why the last offer was rejected (bounded set, used as a metric label). */
  readonly rejectReason: string;
}

export type ComponentState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface SourceStatus {
  name: string;
  type: string;
  state: ComponentState;
  /** `udp://0.0.0.0:5514`, `tcp://[::]:5514`, … ; null when not listening. */
  listen: string | null;
  counters: Record<string, number>;
  error?: string;
}

/** An adapter. `start` resolves once it listens; `stop` once it no longer accepts and has flushed. */
export interface Source {
  readonly name: string;
  readonly type: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SourceStatus;
}

export interface HealthStatus {
  ok: boolean;
  detail?: string;
}

/**
 * A sink. `writeBatch` resolves only when the batch is delivered (acknowledged by the service); a sink
 * that cannot reach its service rejects with NotConnectedError so the caller backs off and retries.
 */
export interface Sink<TBatch> {
  readonly name: string;
  connect(): Promise<void>;
  writeBatch(batch: TBatch): Promise<void>;
  close(): Promise<void>;
  healthcheck(): Promise<HealthStatus>;
}

/** The part of a pino logger the libraries use, so `core` needs no logging dependency. */
export interface LoggerLike {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): LoggerLike;
}

/** What the runtime hands an adapter when it creates one. */
export interface SourceContext {
  intake: Intake;
  /** Tenant stamped on every event of this adapter (the configured default unless overridden). */
  tenant: string;
  /** Kafka key of each record: the event's host (HOSTNAME, else the peer address) or the tenant. */
  keyBy: 'host' | 'tenant';
  logger: LoggerLike;
}

/**
 * An adapter type, registered under its snake_case name (`syslog_udp`, …). `schema` is the JSON
 * schema (TypeBox) of its options: the config file and the control API validate against the same one.
 */
export interface AdapterFactory<TOptions = unknown> {
  readonly type: string;
  readonly schema: object;
  create(name: string, options: TOptions, context: SourceContext): Source;
}

/** A batch handed out by the buffer; it stays owned by the buffer until acked or nacked. */
export interface Lease {
  readonly id: number;
  readonly records: readonly BufferRecord[];
}

/**
 * The consumer side of the buffer. `next` resolves with up to `maxRecords` records (null once the
 * buffer is closed and drained); `ack` forgets a delivered lease, `nack` re-queues it ahead of newer
 * data. Several leases may be outstanding at once.
 */
export interface LeaseSource {
  next(maxRecords: number, signal?: AbortSignal): Promise<Lease | null>;
  ack(lease: Lease): void;
  nack(lease: Lease): void;
}
