import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type HealthStatus,
  type LoggerLike,
  type NormalizedEvent,
  NotConnectedError,
  SiemError,
  type Sink,
} from '@siem/core';
import { type Logger, RateLimitedLog, silentLogger } from '@siem/observability';
import CircuitBreaker from 'opossum';
import { from as copyFrom } from 'pg-copy-streams';
import { EVENT_COLUMN_LIST, EVENT_COLUMNS } from './columns.js';
import { intervalMs } from './intervals.js';
import { storageMetrics as m } from './metrics.js';
import { recordedEngine } from './migrate.js';
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
import {
  COLUMN_COUNT,
  type CoercionCounts,
  type CoercionReason,
  copyTextLine,
  prepareRow,
} from './row-encoding.js';
import { resolveSettings } from './settings.js';
import type { Engine } from './sql-files.js';

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
  timeoutMs?: number;
  breakerResetMs?: number;
  breakerErrorPercent?: number;
  breakerVolume?: number;
  name?: string;
  logger?: Logger;
}

const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;
const COPY_CHUNK_CHARS = 1 << 18;
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
 * - COPY path (real PostgreSQL/TimescaleDB): each statement is first a plain COPY into the table; if
 *   it hits a row already there (a replay), it is redone as COPY into a session temp table followed
 *   by INSERT … SELECT … ON CONFLICT DO NOTHING. First writes pay nothing for idempotency.
 * - INSERT path (the embedded engine, whose wire server cannot take COPY FROM STDIN): one
 *   INSERT … SELECT FROM unnest(column arrays) ON CONFLICT DO NOTHING per statement.
 * - An opossum circuit breaker counts connection failures and timeouts; while the database is
 *   unreachable (or the circuit open), `writeBatch` rejects with NotConnectedError and nothing of the
 *   failed statement is assumed stored: the caller keeps the batch and retries it later.
 * - Every error it throws is a retriable SiemError; values the database would refuse are coerced
 *   before writing (see row-encoding.ts), and a row it still refuses is stored as a minimal row that
 *   keeps the raw event, so one bad row can never stall a pipeline.
 */
export class EventWriter implements Sink<NormalizedEvent[]> {
  readonly name: string;
  readonly #options: Required<Omit<EventWriterOptions, 'pool' | 'url' | 'logger' | 'name'>>;
  readonly #pool: Pool;
  readonly #ownPool: boolean;
  readonly #q: string;
  readonly #table: string;
  readonly #logger: Logger;
  readonly #log: RateLimitedLog;
  readonly #breaker: CircuitBreaker<[Statement], number>;
  #method: WriteMethod | null = null;
  #engine: Engine | null = null;
  /** Plain PostgreSQL: [start, end) ms of the partitions known to exist, sorted. */
  #covered: Array<[number, number]> = [];
  #connecting: Promise<void> | null = null;
  #closed = false;

  constructor(options: EventWriterOptions) {
    const s = resolveSettings(options.schema === undefined ? {} : { schema: options.schema });
    this.name = options.name ?? 'storage';
    this.#options = {
      poolSize: options.poolSize ?? 8,
      schema: s.schema,
      chunkInterval: options.chunkInterval ?? s.chunkInterval,
      method: options.method ?? 'auto',
      batchRows: options.batchRows ?? 10_000,
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
      if (server.embedded && wanted === 'copy') {
        // COPY FROM STDIN over the embedded engine's wire server wedges its single session for every client.
        throw new SiemError(
          'SIEM_ERR_CONFIG_INVALID',
          'storage.write.method copy is not available on the embedded engine',
        );
      }
      this.#engine = engine;
      this.#method = wanted === 'auto' ? (server.embedded ? 'insert' : 'copy') : wanted;
      if (engine === 'postgres') await this.#loadPartitions(client);
      this.#logger.info(
        { method: this.#method, engine, schema: this.#options.schema },
        'event writer connected',
      );
    } catch (err) {
      client.release(isConnectionError(err) ? (err as Error) : undefined);
      if (isConnectionError(err)) throw new NotConnectedError('database', { cause: err });
      throw err;
    }
    client.release();
  }

  async writeBatch(batch: NormalizedEvent[]): Promise<void> {
    if (this.#closed) throw new SiemError('SIEM_ERR_SHUTTING_DOWN', 'the event writer is closed');
    if (batch.length === 0) return;
    if (this.#method === null) await this.connect();
    const step = this.#options.batchRows;
    for (let i = 0; i < batch.length; i += step) {
      await this.#fire(this.#prepare(batch, i, Math.min(batch.length, i + step)));
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

  #prepare(batch: NormalizedEvent[], from: number, to: number): Statement {
    const counts: CoercionCounts = {};
    const rows: Array<Array<string | null>> = new Array(to - from);
    const times: number[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      const values = new Array<string | null>(COLUMN_COUNT);
      times[i - from] = prepareRow(batch[i]!, values, counts);
      rows[i - from] = values;
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
      m.writeErrors.inc({ reason: 'circuit_open' });
      return new NotConnectedError('database (circuit open)', { cause: err });
    }
    if (code === 'ETIMEDOUT' && /Timed out after/.test((err as Error).message)) {
      m.writeErrors.inc({ reason: 'timeout' });
      return new SiemError(
        'SIEM_ERR_TIMEOUT',
        `database write took longer than ${this.#options.timeoutMs} ms`,
        {
          cause: err,
        },
      );
    }
    if (isConnectionError(err)) {
      m.writeErrors.inc({ reason: 'not_connected' });
      this.#log.warn('not_connected', { err: (err as Error).message }, 'database unreachable');
      return new NotConnectedError('database', { cause: err });
    }
    if (err instanceof SiemError) {
      m.writeErrors.inc({ reason: err.code });
      return err;
    }
    const state = sqlState(err) ?? 'unknown';
    m.writeErrors.inc({ reason: state });
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
    if (this.#engine === 'postgres') await this.#ensurePartitions(st.times);
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
    m.rowsWritten.inc({ method }, inserted);
    if (inserted < st.rows.length) m.rowsDuplicate.inc(st.rows.length - inserted);
    return inserted;
  }

  async #writeWithRetries(st: Statement, method: WriteMethod): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return method === 'copy' ? await this.#copy(st) : await this.#insert(st.rows);
      } catch (err) {
        const state = sqlState(err);
        if ((state === '40P01' || state === '40001') && attempt < 3) {
          m.writeRetries.inc({ reason: 'deadlock' });
          continue;
        }
        if (state === '23514' && /no partition/.test((err as Error).message) && attempt < 3) {
          m.writeRetries.inc({ reason: 'missing_partition' });
          this.#covered = [];
          await this.#ensurePartitions(st.times);
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

  /**
   * The rows as COPY text, encoded lazily in chunks as the connection drains: PostgreSQL parses the
   * first rows while the next ones are being encoded.
   */
  #copySource(rows: Array<Array<string | null>>): Readable {
    function* chunks(): Generator<Buffer> {
      let text = '';
      for (const r of rows) {
        text += copyTextLine(r);
        if (text.length >= COPY_CHUNK_CHARS) {
          yield Buffer.from(text);
          text = '';
        }
      }
      if (text.length > 0) yield Buffer.from(text);
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async #copy(st: Statement): Promise<number> {
    return this.#withClient(async (client) => {
      try {
        const stream = client.query(copyFrom(`copy ${this.#table} (${EVENT_COLUMN_LIST}) from stdin`));
        await pipeline(this.#copySource(st.rows), stream);
        return st.rows.length;
      } catch (err) {
        if (sqlState(err) !== '23505') throw err;
        // Some rows are already stored (a replay): redo this statement through a staging table.
        m.writeRetries.inc({ reason: 'duplicate' });
        return this.#copyStaged(client, st);
      }
    });
  }

  async #copyStaged(client: PoolClient, st: Statement): Promise<number> {
    const stage = `siem_stage_${this.#options.schema}`;
    await client.query('begin');
    try {
      await client.query(
        `create temp table if not exists ${stage} (like ${this.#table} including defaults) on commit delete rows`,
      );
      const stream = client.query(copyFrom(`copy ${stage} (${EVENT_COLUMN_LIST}) from stdin`));
      await pipeline(this.#copySource(st.rows), stream);
      const r = await client.query(
        `insert into ${this.#table} (${EVENT_COLUMN_LIST}) select ${EVENT_COLUMN_LIST} from ${stage} on conflict do nothing`,
      );
      await client.query('commit');
      return r.rowCount ?? 0;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  #insertSql(): string {
    const casts = EVENT_COLUMNS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    return `insert into ${this.#table} (${EVENT_COLUMN_LIST}) select * from unnest(${casts}) on conflict do nothing`;
  }

  async #insert(rows: Array<Array<string | null>>): Promise<number> {
    const columns: Array<Array<string | null>> = Array.from(
      { length: COLUMN_COUNT },
      () => new Array(rows.length),
    );
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      for (let c = 0; c < COLUMN_COUNT; c++) columns[c]![r] = row[c]!;
    }
    const res = await this.#pool.query(this.#insertSql(), columns);
    return res.rowCount ?? 0;
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

  async #loadPartitions(client: PoolClient | Pool): Promise<void> {
    const r = await client.query<{ s: string; e: string }>(
      `select (extract(epoch from range_start) * 1000)::float8 as s, (extract(epoch from range_end) * 1000)::float8 as e
         from ${this.#q}.event_partitions() order by range_start`,
    );
    const merged: Array<[number, number]> = [];
    for (const row of r.rows) {
      const s = Number(row.s);
      const e = Number(row.e);
      const last = merged[merged.length - 1];
      if (last !== undefined && last[1] === s) last[1] = e;
      else merged.push([s, e]);
    }
    this.#covered = merged;
  }

  #isCovered(t: number): boolean {
    const c = this.#covered;
    let lo = 0;
    let hi = c.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = c[mid]!;
      if (t < s) hi = mid - 1;
      else if (t >= e) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Plain PostgreSQL: creates the partitions this statement's rows need (rare: the tier job makes them ahead). */
  async #ensurePartitions(times: number[]): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const missing = new Map<number, number>();
      const hour = 3_600_000;
      for (const t of times) {
        if (!this.#isCovered(t)) missing.set(Math.floor(t / hour), t);
      }
      if (missing.size === 0) return;
      const r = await this.#pool.query<{ n: number }>(
        `select ${this.#q}.ensure_partitions($1::timestamptz[], $2::interval) as n`,
        [[...missing.values()].map((t) => new Date(t).toISOString()), this.#options.chunkInterval],
      );
      m.tierActions.inc({ action: 'created' }, r.rows[0]?.n ?? 0);
      await this.#loadPartitions(this.#pool);
    }
  }
}

export function createEventWriter(options: EventWriterOptions): EventWriter {
  return new EventWriter(options);
}
