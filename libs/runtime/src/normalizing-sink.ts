import {
  type BufferRecord,
  decodeRawEvent,
  errorReason,
  type HealthStatus,
  isRetriable,
  isSiemError,
  type LoggerLike,
  type NormalizedEvent,
  type Sink,
} from '@siem/core';
import { type NormalizeOptions, normalizeAll } from '@siem/normalize';
import { ComponentMetrics, counter, histogram, RateLimitedLog } from '@siem/observability';

/**
 * The normalizer is the sink component `normalizer` (type `normalizer`) of the vocabulary: received =
 * raw records in (each attempt: a batch retried after a storage outage is received again), sent = rows
 * stored (a record may become several rows), discarded = records sent to the dead letters, by reason
 * (never intentional), errors = the same by code and stage (processing: not decodable or not
 * normalizable; sending: refused by the database). Its own extras: stored rows by source type, timing.
 */
export const NORMALIZER_SINK_REF = { id: 'normalizer', kind: 'sink', type: 'normalizer' } as const;

/** Dead-letter reasons met while storing; the others are met while normalizing. */
const SENDING_REASONS = new Set(['store_rejected', 'store_timeout']);

/** A write that ran out of time: given up by the writer, or cancelled by the server's statement_timeout. */
function timedOut(err: unknown): boolean {
  if (isSiemError(err, 'SIEM_ERR_TIMEOUT')) return true;
  const details = (err as { details?: { sqlstate?: string } } | null)?.details;
  return isSiemError(err, 'SIEM_ERR_DB_WRITE') && details?.sqlstate === '57014';
}

/** What one batch's isolation learned: whether any part got through, and the rows that timed out alone. */
interface Isolation {
  progress: boolean;
  timeouts: number;
  /** Timeouts allowed before anything is stored: two descents from the whole batch to one row. */
  readonly limit: number;
  suspects: Array<{ origin: BufferRecord; err: unknown }>;
}

const metrics = {
  events: counter({
    name: 'siem_normalizer_events_total',
    help: 'Normalized events stored, by source type.',
    labelNames: ['source_type'],
  }),
  batchSeconds: histogram({
    name: 'siem_normalizer_batch_seconds',
    help: 'Decode, normalize, store and publish of one batch.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};

/** Where records that can never be stored go, with the reason (Kafka's siem.dlq, or a local file). */
export interface DeadLetters {
  deadLetter(records: readonly BufferRecord[], reason: string, error: string): Promise<void>;
}

/** Optional publication of stored rows (siem.normalized, per-severity topics). */
export interface RowPublisher {
  publish(rows: readonly NormalizedEvent[]): Promise<void>;
}

export interface NormalizingSinkOptions {
  writer: Sink<NormalizedEvent[]>;
  deadLetters: DeadLetters;
  publisher?: RowPublisher | null;
  /** Called with the rows of each stored batch (the live tail). Must not throw or block. */
  onStored?: (rows: readonly NormalizedEvent[]) => void;
  /** The normalizer's options (the `normalizer` configuration section carries them). */
  normalize?: NormalizeOptions;
  logger: LoggerLike;
}

/**
 * Raw records → normalized rows → storage. Used by the normalizer role behind the Kafka consumer and
 * by the all role behind the buffer. `writeBatch` resolves only when every row is stored and every
 * record that cannot become a row is in the dead letters; it rejects with a retriable error while the
 * database (or the dead-letter topic) is unavailable, and the caller retries the whole batch —
 * storage writes are idempotent, so a retried batch never duplicates rows.
 *
 * A row the database refuses for good (not a connectivity problem) is found by splitting the batch
 * and is dead-lettered alone; the rest of its batch is stored.
 */
export class NormalizingSink implements Sink<readonly BufferRecord[]> {
  readonly name: string;
  readonly component = new ComponentMetrics(NORMALIZER_SINK_REF);
  readonly #o: NormalizingSinkOptions;
  readonly #log: RateLimitedLog;
  /** Settles when every batch begun so far has published (or given up): keeps publication in order. */
  #published: Promise<void> = Promise.resolve();

  constructor(options: NormalizingSinkOptions) {
    this.#o = options;
    this.name = options.writer.name;
    this.#log = new RateLimitedLog(options.logger);
  }

  connect(): Promise<void> {
    return this.#o.writer.connect();
  }

  healthcheck(): Promise<HealthStatus> {
    return this.#o.writer.healthcheck();
  }

  close(): Promise<void> {
    return this.#o.writer.close();
  }

  async writeBatch(records: readonly BufferRecord[]): Promise<void> {
    // Batches may be written concurrently (the consumer's and the pump's batches in flight), but their
    // rows are published and handed to the tail in the order the batches came: per-host order holds.
    const previous = this.#published;
    let release!: () => void;
    this.#published = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await this.#writeBatch(records, previous);
    } finally {
      void previous.then(release);
    }
  }

  async #writeBatch(records: readonly BufferRecord[], previous: Promise<void>): Promise<void> {
    const end = metrics.batchSeconds.startTimer();
    let bytes = 0;
    for (const record of records) bytes += record.value.length;
    this.component.received(records.length, bytes);
    const rows: NormalizedEvent[] = [];
    const origin: BufferRecord[] = [];
    // One bucket per reason and error text, so each dead letter carries its own record's error; a
    // record several of whose rows were refused is dead-lettered once, with the first reason.
    const rejected = new Map<string, { reason: string; records: BufferRecord[]; error: string }>();
    const seen = new Set<BufferRecord>();
    const reject = (reason: string, record: BufferRecord, error: string) => {
      if (seen.has(record)) return;
      seen.add(record);
      const key = `${reason}\u0000${error}`;
      const bucket = rejected.get(key);
      if (bucket === undefined) rejected.set(key, { reason, records: [record], error });
      else bucket.records.push(record);
    };

    for (const record of records) {
      try {
        for (const row of normalizeAll(decodeRawEvent(record.value), this.#o.normalize)) {
          rows.push(row);
          origin.push(record);
        }
      } catch (err) {
        const reason = isSiemError(err, 'SIEM_ERR_RAW_EVENT_INVALID')
          ? 'invalid_raw_event'
          : isSiemError(err, 'SIEM_ERR_NORMALIZE')
            ? 'normalize_failed'
            : 'normalize_error';
        reject(reason, record, err instanceof Error ? err.message : String(err));
      }
    }

    const isolation: Isolation = {
      progress: false,
      timeouts: 0,
      limit: 2 * (Math.ceil(Math.log2(Math.max(2, rows.length))) + 1),
      suspects: [],
    };
    const stored = await this.#store(rows, origin, reject, isolation);
    if (isolation.suspects.length > 0) {
      // Rows that timed out on their own while others were stored: the rows, not the database. When
      // nothing at all got through, it is the database: the batch is retried whole.
      if (!isolation.progress) throw isolation.suspects[0]!.err;
      for (const { origin: record, err } of isolation.suspects) {
        reject('store_timeout', record, err instanceof Error ? err.message : String(err));
      }
    }

    for (const { reason, records: refused, error } of rejected.values()) {
      await this.#o.deadLetters.deadLetter(refused, reason, error);
      this.component.discarded(reason, false, refused.length);
      this.component.error(reason, SENDING_REASONS.has(reason) ? 'sending' : 'processing', refused.length);
      this.#log.warn(`dlq:${reason}`, { reason, records: refused.length, error }, 'records dead-lettered');
    }
    if (stored.length > 0) {
      this.component.sent(stored.length);
      for (const row of stored) metrics.events.inc({ source_type: row.sourceType });
      if (this.#o.publisher || this.#o.onStored) await previous;
      if (this.#o.publisher) await this.#o.publisher.publish(stored);
      this.#o.onStored?.(stored);
    }
    end();
  }

  /**
   * Stores rows; isolates rows the database refuses for good, or that time out however small the
   * statement, by halving the batch (a poison batch is never retried whole for ever). A timeout is
   * only pinned on a row once other rows of the batch were stored (see writeBatch); isolation gives
   * up, and the batch is retried later, after as many timeouts as two descents to one row take
   * without anything stored.
   */
  async #store(
    rows: NormalizedEvent[],
    origin: BufferRecord[],
    reject: (reason: string, record: BufferRecord, error: string) => void,
    isolation: Isolation,
  ): Promise<NormalizedEvent[]> {
    if (rows.length === 0) return rows;
    try {
      await this.#o.writer.writeBatch(rows);
      isolation.progress = true;
      return rows;
    } catch (err) {
      const slow = timedOut(err);
      if (isRetriable(err) && !slow) throw err;
      if (slow) {
        isolation.timeouts++;
        if (!isolation.progress && isolation.timeouts > isolation.limit) throw err;
        if (rows.length === 1) {
          isolation.suspects.push({ origin: origin[0]!, err });
          return [];
        }
      }
      if (rows.length === 1) {
        reject(
          'store_rejected',
          origin[0]!,
          `${errorReason(err)}: ${err instanceof Error ? err.message : String(err)}`,
        );
        return [];
      }
      const mid = rows.length >>> 1;
      const left = await this.#store(rows.slice(0, mid), origin.slice(0, mid), reject, isolation);
      const right = await this.#store(rows.slice(mid), origin.slice(mid), reject, isolation);
      return left.concat(right);
    }
  }
}
