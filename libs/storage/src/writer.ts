import { setTimeout as sleep } from 'node:timers/promises';
import {
  type HealthStatus,
  type LoggerLike,
  type NormalizedEvent,
  NotConnectedError,
  SiemError,
  type Sink,
} from '@siem/core';
import { ComponentMetrics, type Logger, RateLimitedLog, silentLogger } from '@siem/observability';
import CircuitBreaker from 'opossum';
import type { BulkChannel } from './embedded/bulk-channel.js';
import { bulkChannelFor } from './embedded/embedded.js';
import { intervalMs } from './intervals.js';
import { storageMetrics as m } from './metrics.js';
import { recordedEngine } from './migrate.js';
import { PartitionCover } from './partitions.js';
import {
  checkout,
  createPool,
  ident,
  inspectServer,
  isConnectionError,
  type Pool,
  type PoolClient,
  sqlState,
} from './pool.js';
import { COLUMN_COUNT, type CoercionCounts, type CoercionReason, prepareRow } from './row-encoding.js';
import { resolveSettings } from './settings.js';
import type { Engine } from './sql-files.js';
import { copyRows, copyRowsOverChannel, insertRows, withStatementTimeout } from './write-paths.js';

export type WriteMethod = 'copy' | 'insert';

export interface EventWriterOptions {
  /** A pool to use (not ended by close), or a URL for a pool of the writer's own. */
  pool?: Pool;
  url?: string;
  poolSize?: number;
  schema?: string;
  /** Partition width on plain PostgreSQL, for partitions the writer creates on demand. */
  chunkInterval?: string;
  method?: 'auto' | WriteMethod;
  /** Rows per statement. */
  batchRows?: number;
  /** Bytes of row values per statement, besides batchRows (default 16 MiB). */
  batchBytes?: number;
  timeoutMs?: number;
  breakerResetMs?: number;
  breakerErrorPercent?: number;
  breakerVolume?: number;
  name?: string;
  logger?: Logger;
  /**
   * The bulk channel of the embedded engine behind the pool (COPY without the wire server). By
   * default, the channel of the embedded engine this process started on the pool's URL, if any;
   * null: never.
   */
  bulk?: BulkChannel | null;
}

const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;
/** Data exceptions and integrity violations other than the ones the writer handles itself. */
const REJECTED_ROW = /^(22|23(?!505|514))/;

interface Statement {
  rows: Array<Array<string | null>>;
  times: number[];
}

/**
 * The event writer: a sink of NormalizedEvent batches into `<schema>.events`.
 *
 * - `writeBatch` resolves only when every row is committed. Writes are idempotent: a row already
 *   stored (same tenant, time and event id) is skipped, so replaying a batch never duplicates.
 * - COPY (real PostgreSQL/TimescaleDB, and the embedded engine this process started, through its bulk
 *   channel) or INSERT … unnest (an embedded engine reached only through its wire server, which
 *   cannot take COPY FROM STDIN): see write-paths.ts.
 * - An opossum circuit breaker counts connection failures and timeouts; while the database is
 *   unreachable (or the circuit open), `writeBatch` rejects with NotConnectedError and nothing of the
 *   failed statement is assumed stored: the caller keeps the batch and retries it later.
 * - Every error it throws is a retriable SiemError; values the database would refuse are coerced
 *   before writing (see row-encoding.ts), and a row it still refuses is stored as a minimal row that
 *   keeps the raw event, so one bad row can never stall a pipeline.
 */
export class EventWriter implements Sink<NormalizedEvent[]> {
  readonly name: string;
  /**
   * Sink `<name>` of type `timescaledb` (PostgreSQL and the embedded engine too: one writer): received
   * = rows handed to `writeBatch` (each attempt), sent = rows committed, new or already stored (a
   * replayed row is skipped, counted in siem_storage_rows_duplicate_total), errors = failed statements
   * by reason (not_connected, circuit_open, timeout, a SiemError code or the SQLSTATE), stage sending.
   * Nothing is discarded here: a row the database refuses is stored as a minimal row.
   */
  readonly component: ComponentMetrics;
  readonly #options: Required<Omit<EventWriterOptions, 'pool' | 'url' | 'logger' | 'name' | 'bulk'>>;
  readonly #pool: Pool;
  readonly #ownPool: boolean;
  readonly #q: string;
  readonly #table: string;
  readonly #logger: Logger;
  readonly #log: RateLimitedLog;
  readonly #breaker: CircuitBreaker<[Statement], number>;
  readonly #partitions: PartitionCover;
  readonly #url: string | undefined;
  readonly #bulkOption: BulkChannel | null | undefined;
  #method: WriteMethod | null = null;
  #engine: Engine | null = null;
  /** The embedded engine (PGlite): it has no statement_timeout to set. */
  #embedded = false;
  /** The bulk channel COPY goes through (embedded engine), or null for the wire. */
  #bulk: BulkChannel | null = null;
  #connecting: Promise<void> | null = null;
  #closed = false;

  constructor(options: EventWriterOptions) {
    const s = resolveSettings(options.schema === undefined ? {} : { schema: options.schema });
    this.name = options.name ?? 'storage';
    this.component = new ComponentMetrics({ id: this.name, kind: 'sink', type: 'timescaledb' });
    this.#options = {
      poolSize: options.poolSize ?? 8,
      schema: s.schema,
      chunkInterval: options.chunkInterval ?? s.chunkInterval,
      method: options.method ?? 'auto',
      batchRows: options.batchRows ?? 10_000,
      batchBytes: options.batchBytes ?? 16_777_216,
      timeoutMs: options.timeoutMs ?? 60_000,
      breakerResetMs: options.breakerResetMs ?? 5_000,
      breakerErrorPercent: options.breakerErrorPercent ?? 50,
      breakerVolume: options.breakerVolume ?? 3,
    };
    intervalMs(this.#options.chunkInterval);
    this.#logger = (options.logger ?? silentLogger).child({ component: 'storage-writer' });
    this.#log = new RateLimitedLog(this.#logger);
    if (options.pool !== undefined) {
      this.#pool = options.pool;
      this.#ownPool = false;
    } else if (options.url !== undefined) {
      this.#pool = createPool({
        url: options.url,
        size: this.#options.poolSize,
        applicationName: 'siem-writer',
        logger: this.#logger as LoggerLike,
      });
      this.#ownPool = true;
    } else throw new SiemError('SIEM_ERR_CONFIG_INVALID', 'EventWriter needs a pool or a url');
    this.#q = ident(this.#options.schema);
    this.#table = `${this.#q}.events`;
    this.#partitions = new PartitionCover(this.#q, this.#options.chunkInterval);
    this.#bulkOption = options.bulk;
    this.#url =
      options.url ?? (this.#pool as { options?: { connectionString?: string } }).options?.connectionString;
    this.#breaker = new CircuitBreaker((st: Statement) => this.#write(st), {
      timeout: this.#options.timeoutMs,
      resetTimeout: this.#options.breakerResetMs,
      errorThresholdPercentage: this.#options.breakerErrorPercent,
      volumeThreshold: this.#options.breakerVolume,
      rollingCountTimeout: 10_000,
      // Only an unreachable or unresponsive database counts against the circuit.
      errorFilter: (err: unknown) => !isConnectionError(err),
    });
    m.breakerState.set(BREAKER_STATE.closed);
    this.#breaker.on('open', () => {
      m.breakerState.set(BREAKER_STATE.open);
      this.#logger.warn({}, 'database circuit opened: writes are refused until it answers again');
    });
    this.#breaker.on('halfOpen', () => m.breakerState.set(BREAKER_STATE.half_open));
    this.#breaker.on('close', () => {
      m.breakerState.set(BREAKER_STATE.closed);
      this.#logger.info({}, 'database circuit closed');
    });
  }

  /** The write method in use (known after connect). */
  get method(): WriteMethod | null {
    return this.#method;
  }

  get engine(): Engine | null {
    return this.#engine;
  }

  /** How COPY reaches the database: its wire protocol, or the embedded engine's bulk channel. */
  get transport(): 'wire' | 'bulk_channel' {
    return this.#bulk === null ? 'wire' : 'bulk_channel';
  }

  get pool(): Pool {
    return this.#pool;
  }

  get circuit(): 'closed' | 'half_open' | 'open' {
    return this.#breaker.opened ? 'open' : this.#breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Reaches the database, learns its engine and layout, and picks the write method. */
  connect(): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => {
      if (this.#method === null) this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    let client: PoolClient;
    try {
      client = await checkout(this.#pool);
    } catch (err) {
      throw new NotConnectedError('database', { cause: err });
    }
    try {
      const server = await inspectServer(client);
      const engine = await recordedEngine(client, this.#options.schema);
      if (engine === null) {
        throw new SiemError(
          'SIEM_ERR_DB_WRITE',
          `schema ${this.#options.schema} has no events table yet: run the migrations (siem migrate)`,
        );
      }
      const wanted = this.#options.method;
      const bulk = server.embedded && wanted !== 'insert' ? await this.#bulkChannel() : null;
      if (server.embedded && wanted === 'copy' && bulk === null) {
        // COPY FROM STDIN over the embedded engine's wire server wedges its single session for every client.
        throw new SiemError(
          'SIEM_ERR_CONFIG_INVALID',
          'storage.write.method copy is only available on an embedded engine this process started',
        );
      }
      this.#engine = engine;
      this.#embedded = server.embedded;
      this.#bulk = bulk;
      this.#method = wanted === 'auto' ? (server.embedded && bulk === null ? 'insert' : 'copy') : wanted;
      if (engine === 'postgres') await this.#partitions.load(client);
      this.#logger.info(
        { method: this.#method, transport: this.transport, engine, schema: this.#options.schema },
        'event writer connected',
      );
    } catch (err) {
      client.release(isConnectionError(err) ? (err as Error) : undefined);
      if (isConnectionError(err)) throw new NotConnectedError('database', { cause: err });
      throw err;
    }
    client.release();
  }

  /** The bulk channel to the engine behind the pool, if this process started it and it answers. */
  async #bulkChannel(): Promise<BulkChannel | null> {
    const bulk = this.#bulkOption === undefined ? bulkChannelFor(this.#url) : this.#bulkOption;
    if (bulk === null || !bulk.open) return null;
    try {
      await bulk.ping();
      return bulk;
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'embedded engine bulk channel does not answer');
      return null;
    }
  }

  async writeBatch(batch: NormalizedEvent[]): Promise<void> {
    if (this.#closed) throw new SiemError('SIEM_ERR_SHUTTING_DOWN', 'the event writer is closed');
    if (batch.length === 0) return;
    this.component.received(batch.length, 0);
    if (this.#method === null) await this.connect();
    for (let i = 0; i < batch.length; ) {
      const st = this.#prepare(batch, i);
      i += st.rows.length;
      await this.#fire(st);
    }
  }

  /** Resolves when the database answers again (the runtime's circuit uses it to close early). */
  async whenReachable(): Promise<void> {
    while (!this.#closed) {
      if ((await this.healthcheck()).ok) return;
      await sleep(500);
    }
  }

  async healthcheck(): Promise<HealthStatus> {
    try {
      const r = await this.#pool.query('select 1 as ok');
      if (r.rows[0]?.ok !== 1) return { ok: false, detail: 'unexpected answer to select 1' };
      return this.#breaker.opened
        ? { ok: false, detail: 'database answers; circuit still open' }
        : { ok: true };
    } catch (err) {
      return { ok: false, detail: `database unreachable: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#breaker.shutdown();
    if (this.#ownPool) await this.#pool.end();
  }

  /** The next statement from `from` on: up to batchRows rows and about batchBytes of values. */
  #prepare(batch: NormalizedEvent[], from: number): Statement {
    const counts: CoercionCounts = {};
    const rows: Array<Array<string | null>> = [];
    const times: number[] = [];
    const end = Math.min(batch.length, from + this.#options.batchRows);
    let bytes = 0;
    for (let i = from; i < end && (i === from || bytes < this.#options.batchBytes); i++) {
      const values = new Array<string | null>(COLUMN_COUNT);
      times.push(prepareRow(batch[i]!, values, counts));
      rows.push(values);
      for (const v of values) if (v !== null) bytes += v.length;
    }
    for (const [reason, n] of Object.entries(counts)) {
      m.rowsCoerced.inc({ reason }, n);
      this.#log.warn(
        `coerced:${reason}`,
        { reason, rows: n },
        'stored values coerced to what the database accepts',
      );
    }
    return { rows, times };
  }

  async #fire(st: Statement): Promise<void> {
    try {
      await this.#breaker.fire(st);
    } catch (err) {
      throw this.#classify(err);
    }
  }

  #classify(err: unknown): Error {
    const code = (err as { code?: string }).code;
    if (code === 'EOPENBREAKER') {
      this.component.error('circuit_open', 'sending');
      return new NotConnectedError('database (circuit open)', { cause: err });
    }
    if (code === 'ETIMEDOUT' && /Timed out after/.test((err as Error).message)) {
      this.component.error('timeout', 'sending');
      return new SiemError(
        'SIEM_ERR_TIMEOUT',
        `database write took longer than ${this.#options.timeoutMs} ms`,
        {
          cause: err,
        },
      );
    }
    if (isConnectionError(err)) {
      this.component.error('not_connected', 'sending');
      this.#log.warn('not_connected', { err: (err as Error).message }, 'database unreachable');
      return new NotConnectedError('database', { cause: err });
    }
    if (err instanceof SiemError) {
      this.component.error(err.code, 'sending');
      return err;
    }
    const state = sqlState(err) ?? 'unknown';
    this.component.error(state, 'sending');
    this.#log.error(
      `write:${state}`,
      { err: (err as Error).message, sqlstate: state },
      'database write failed',
    );
    return new SiemError('SIEM_ERR_DB_WRITE', `database write failed: ${(err as Error).message}`, {
      cause: err,
      details: { sqlstate: state },
    });
  }

  /** Writes one statement's rows; returns how many were new. Runs inside the breaker. */
  async #write(st: Statement): Promise<number> {
    if (this.#engine === 'postgres') await this.#partitions.ensure(this.#pool, st.times);
    const method = this.#method!;
    const started = process.hrtime.bigint();
    let inserted: number;
    try {
      inserted = await this.#writeWithRetries(st, method);
    } catch (err) {
      const state = sqlState(err);
      if (state === null || !REJECTED_ROW.test(state)) throw err;
      inserted = await this.#isolateRejected(st, method, err);
    }
    m.writeDuration.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
    this.component.sent(st.rows.length);
    if (inserted < st.rows.length) m.rowsDuplicate.inc(st.rows.length - inserted);
    return inserted;
  }

  async #writeWithRetries(st: Statement, method: WriteMethod): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return method === 'copy' ? await this.#copy(st) : await this.#insert(st);
      } catch (err) {
        const state = sqlState(err);
        if ((state === '40P01' || state === '40001') && attempt < 3) {
          m.writeRetries.inc({ reason: 'deadlock' });
          continue;
        }
        if (state === '23514' && /no partition/.test((err as Error).message) && attempt < 3) {
          m.writeRetries.inc({ reason: 'missing_partition' });
          this.#partitions.reset();
          await this.#partitions.ensure(this.#pool, st.times);
          continue;
        }
        throw err;
      }
    }
  }

  async #withClient<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const client = await checkout(this.#pool);
    try {
      const out = await fn(client);
      client.release();
      return out;
    } catch (err) {
      // A connection that failed mid-statement may be in any state: never give it back to the pool.
      client.release(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  /** The server's own timeout a little before the breaker's, so the server has cancelled when it fires. */
  get #serverTimeoutMs(): number {
    return Math.max(100, this.#options.timeoutMs - 500);
  }

  async #insert(st: Statement): Promise<number> {
    // The embedded engine enforces no statement_timeout: no round trips spent on setting it there.
    if (this.#embedded) return insertRows(this.#pool, this.#table, st.rows);
    return this.#withClient((client) =>
      withStatementTimeout(client, this.#serverTimeoutMs, () => insertRows(client, this.#table, st.rows)),
    );
  }

  async #copy(st: Statement): Promise<number> {
    if (this.#bulk !== null) {
      if (this.#bulk.open) return copyRowsOverChannel(this.#bulk, this.#options.schema, st.rows);
      // The engine that offered the channel is gone (a restart gives a new one): back to the wire.
      this.#logger.warn({}, 'embedded engine bulk channel closed: writing through the wire server');
      this.#bulk = null;
      this.#method = 'insert';
      return insertRows(this.#pool, this.#table, st.rows);
    }
    const stage = `siem_stage_${this.#options.schema}`;
    return this.#withClient((client) =>
      withStatementTimeout(client, this.#serverTimeoutMs, () =>
        copyRows(client, this.#table, stage, st.rows),
      ),
    );
  }

  /**
   * The database refused a row despite the coercions (should not happen; this is the safety net):
   * halve the statement until the refused rows are alone, store everything else, and store each
   * refused row as a minimal row that keeps its raw event, with the reason in attrs._storage.
   */
  async #isolateRejected(st: Statement, method: WriteMethod, first: unknown): Promise<number> {
    if (st.rows.length === 1) {
      const row = st.rows[0]!;
      const state = sqlState(first) ?? 'unknown';
      m.rowsCoerced.inc({ reason: 'rejected_row' satisfies CoercionReason });
      this.#log.error(
        `rejected:${state}`,
        { sqlstate: state, err: (first as Error).message, event_id: row[3] },
        'database refused a row; stored its raw event in a minimal row',
      );
      const minimal: Array<string | null> = new Array(COLUMN_COUNT).fill(null);
      for (const i of [0, 1, 2, 3, 4, 8, 9, 11, 22]) minimal[i] = row[i]!;
      minimal[21] = JSON.stringify({ _storage: { rejected: state, error: (first as Error).message } });
      return this.#writeWithRetries({ rows: [minimal], times: st.times }, method);
    }
    const half = st.rows.length >> 1;
    let stored = 0;
    for (const part of [
      { rows: st.rows.slice(0, half), times: st.times.slice(0, half) },
      { rows: st.rows.slice(half), times: st.times.slice(half) },
    ]) {
      try {
        stored += await this.#writeWithRetries(part, method);
      } catch (err) {
        const state = sqlState(err);
        if (state === null || !REJECTED_ROW.test(state)) throw err;
        stored += await this.#isolateRejected(part, method, err);
      }
    }
    return stored;
  }
}

export function createEventWriter(options: EventWriterOptions): EventWriter {
  return new EventWriter(options);
}
