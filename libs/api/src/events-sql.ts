import { type NormalizedEvent, SiemError } from '@siem/core';
import type { CursorPosition } from './cursor.js';
import {
  dateMs,
  eventClauses,
  histogramSql,
  type PageRow,
  Params,
  probeSql,
  SELECT_COLUMNS,
  tenantSource,
  toEvent,
  windowClauses,
  withByteBudget,
} from './events-sql-parts.js';
import type { EventFilter } from './filters.js';
import {
  type HistogramSegment,
  type HistogramSource,
  HOUR_MS,
  planHistogram,
  rollupCanServe,
} from './histogram.js';
import { translate } from './query-errors.js';
import { SLICE_BUDGET, SLICES, type SliceOptions, scanNewestFirst, type TimeWindow } from './time-slices.js';

/**
 * What the query routes need of a pg Pool (satisfied by pg.Pool and @siem/storage's createPool).
 * Queries run in a read-only transaction with a statement timeout, on a client of their own.
 */
export interface QueryPool {
  connect(): Promise<QueryClient>;
}

export interface QueryClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  release(err?: Error | boolean): void;
}

export interface PageRequest {
  filter: EventFilter;
  /** Tenants to read; null: every tenant (a key not bound to one, no tenant filter). */
  tenants: readonly string[] | null;
  after: CursorPosition | null;
  limit: number;
  /** Matching rows skipped before the page (page/per_page paging; never with `after`). Default 0. */
  offset?: number;
  /**
   * The page stops before the row that would take its JSON past this many bytes (estimated by the
   * database from the escaped text columns and attrs, plus a fixed allowance for the rest). The first
   * row is always returned, however large, so paging always moves on. Default: no budget.
   */
  maxBytes?: number;
  /** Count the matches up to this many (0: do not count). Counted when `after` is null. */
  countLimit: number;
  /** Time the count may take; beyond it the total is null. */
  countTimeoutMs: number;
}

export interface PageResult {
  events: NormalizedEvent[];
  /** After the last row returned, when more rows match. */
  next: CursorPosition | null;
  /** Exact when `totalExact`; else a lower bound (more matched than the count limit). Null: not counted. */
  total: number | null;
  totalExact: boolean;
  /** The page holds fewer rows than `limit` although more matched: the byte budget stopped it. */
  truncatedByBytes: boolean;
}

export interface HistogramRequest {
  filter: EventFilter;
  tenants: readonly string[] | null;
  fromMs: number;
  toMs: number;
  intervalMs: number;
}

export interface HistogramResult {
  buckets: Array<{ time: string; count: number }>;
  sources: HistogramSource[];
  segments: HistogramSegment[];
}

type Engine = 'timescaledb' | 'postgres';

/** A page's rows as one statement gave them; `fetched`: rows before the byte budget cut. */
interface Rows {
  rows: Array<PageRow & { bytes_through?: string }>;
  fetched: number;
}

/**
 * The read side of `<schema>.events` for the API.
 *
 * Pages are newest first, ordered by (time, event_id, tenant_id) descending, with keyset cursors. The
 * table's primary key (tenant_id, time, event_id) serves a tenant's newest-first scan; a query over
 * several (or all) tenants runs that scan once per tenant (LATERAL, `limit` rows each) and merges —
 * sorting the whole range instead would read every matching row. Tenants are found with a loose index
 * scan of the primary key (one probe per tenant) when the request names none.
 *
 * On the embedded engine, which cannot cancel a statement, pages, counts and raw histogram segments
 * are read in time slices newest first (see time-slices.ts): the writer gets the engine between
 * slices and the timeouts are enforced between them. Each slice is a statement of its own, so it
 * sees the rows stored when it runs: an event stored meanwhile in a window already read is not in
 * this answer (it is in the next one), and with page/per_page a row stored between the skip count
 * and the rows of one window moves the page by one.
 */
export class EventQueries {
  readonly #pool: QueryPool;
  readonly #schema: string;
  readonly #q: string;
  readonly #timeoutMs: number;
  #engine: Engine | null = null;
  #sliced: boolean | null;
  readonly #slicing: {
    initialMs: number;
    minWindowMs?: number;
    budget: { rows: number; bytes: number };
  };

  /**
   * `slicing`: whether to read in slices (default: on the embedded engine only) and their sizes
   * (time-slices.ts's SLICES); tests set them to compare both ways on one engine.
   */
  constructor(
    pool: QueryPool,
    schema: string,
    timeoutMs: number,
    slicing: {
      sliced?: boolean;
      initialMs?: number;
      minWindowMs?: number;
      budget?: { rows: number; bytes: number };
    } = {},
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    this.#pool = pool;
    this.#schema = schema;
    this.#q = `"${schema}"`;
    this.#timeoutMs = Math.max(1, Math.floor(timeoutMs));
    const { sliced, ...sizes } = slicing;
    this.#sliced = sliced ?? null;
    this.#slicing = { initialMs: SLICES.initialMs, budget: SLICE_BUDGET, ...sizes };
  }

  async page(r: PageRequest): Promise<PageResult> {
    return this.#read(async (c, sliced) => {
      const offset = r.offset ?? 0;
      // the range a sliced page and its count cover (the cursor only on pages that are not counted)
      const range = sliced
        ? await this.#range(c, r.filter, r.after === null ? null : Date.parse(r.after.time) + 1)
        : null;
      const got =
        range !== null
          ? await this.#slicedRows(c, r, offset, range)
          : await this.#rows(c, r, null, offset, r.limit + 1, r.maxBytes);
      const rows = got.rows;
      const page = rows.length > r.limit ? rows.slice(0, r.limit) : rows;
      const more = got.fetched > page.length;
      const truncatedByBytes = page.length < Math.min(r.limit, got.fetched);
      const last = page[page.length - 1];
      const next =
        more && last !== undefined
          ? { time: last.time_text, eventId: last.event_id, tenantId: last.tenant_id }
          : null;

      let total: number | null = null;
      let totalExact = false;
      if (r.after === null && r.countLimit > 0) {
        if (!more && (page.length > 0 || offset === 0)) {
          total = offset + page.length;
          totalExact = true;
        } else {
          // The total is a courtesy: it gets a budget of its own and is left out (null) when a filter
          // without an index would make it slow, instead of delaying the page.
          const n = range !== null ? await this.#slicedCount(c, r, range) : await this.#count(c, r);
          if (n !== null) {
            totalExact = n <= r.countLimit;
            total = Math.min(n, r.countLimit);
          }
        }
      }
      return { events: page.map(toEvent), next, total, totalExact, truncatedByBytes };
    });
  }

  /** Up to `want` rows of the page after skipping `offset`, within `window` when given. */
  async #rows(
    c: QueryClient,
    r: PageRequest,
    window: TimeWindow | null,
    offset: number,
    want: number,
    maxBytes: number | undefined,
  ): Promise<Rows> {
    const p = new Params();
    const q = this.#q;
    const inner = eventClauses(r.filter, p, 'e');
    if (r.filter.from !== null) inner.push(`e.time >= ${p.add(r.filter.from, 'timestamptz')}`);
    if (r.filter.to !== null) inner.push(`e.time < ${p.add(r.filter.to, 'timestamptz')}`);
    if (window !== null) inner.push(...windowClauses(p, 'e', window));
    const outer: string[] = [];
    if (r.after !== null) {
      const t = p.add(r.after.time, 'timestamptz');
      const id = p.add(r.after.eventId, 'uuid');
      // <= inside (index-friendly on each tenant's key), the exact tie-break on tenant outside.
      inner.push(`(e.time, e.event_id) <= (${t}, ${id})`, `e.time <= ${t}`);
      outer.push(`(x.time, x.event_id, x.tenant_id) < (${t}, ${id}, ${p.add(r.after.tenantId, 'text')})`);
    }
    const lim = p.add(want, 'integer');
    // one more row per tenant than asked for, so an excluded tie on the cursor row never shortens it
    const perTenant = p.add(offset + want + 1, 'integer');
    const merged = `
          select x.* from ${tenantSource(q, p, r.tenants)} as t
          cross join lateral (
            select e.time, ${SELECT_COLUMNS}
            from ${q}.events e
            where e.tenant_id = t.id${inner.map((w) => `\n              and ${w}`).join('')}
            order by e.time desc, e.event_id desc
            limit ${perTenant}
          ) x
          ${outer.length > 0 ? `where ${outer.join(' and ')}` : ''}
          order by x.time desc, x.event_id desc, x.tenant_id desc
          ${offset > 0 ? `offset ${p.add(offset, 'integer')}` : ''}
          limit ${lim}`;
    if (maxBytes === undefined) {
      const res = await c.query<PageRow>(merged, p.values);
      return { rows: res.rows, fetched: res.rows.length };
    }
    const res = await c.query<PageRow & { fetched: string; bytes_through: string }>(
      withByteBudget(merged, p.add(maxBytes, 'bigint')),
      p.values,
    );
    return { rows: res.rows, fetched: Number(res.rows[0]?.fetched ?? 0) };
  }

  /**
   * The page read window by window: the skipped rows are counted first, then rows are collected
   * until the page (and one more) is full, the byte budget is spent or the range is done.
   */
  async #slicedRows(c: QueryClient, r: PageRequest, offset: number, range: TimeWindow): Promise<Rows> {
    const want = r.limit + 1;
    const rows: Rows['rows'] = [];
    let fetched = 0;
    let skip = offset;
    let usedBytes = 0;
    await scanNewestFirst(range.fromMs, range.toMs, this.#slices(this.#timeoutMs, c, r), async (w) => {
      if (skip > 0) {
        const n = await this.#countIn(c, r, w, skip);
        if (n < skip) {
          skip -= n;
          return false;
        }
      }
      const budget = r.maxBytes === undefined ? undefined : Math.max(0, r.maxBytes - usedBytes);
      const got = await this.#rows(c, r, w, skip, want - rows.length, budget);
      skip = 0;
      let taken = got.rows;
      if (budget !== undefined && rows.length > 0 && Number(taken[0]?.bytes_through ?? 0) > budget) {
        // only the first row of the whole page may pass the budget on its own
        taken = [];
      }
      rows.push(...taken);
      fetched = rows.length + (got.fetched - taken.length);
      usedBytes += Number(taken[taken.length - 1]?.bytes_through ?? 0);
      return rows.length >= want || got.fetched > taken.length;
    });
    return { rows, fetched: Math.max(fetched, rows.length) };
  }

  /** Matching rows up to countLimit + 1, or null past count_timeout_ms. */
  async #count(c: QueryClient, r: PageRequest): Promise<number | null> {
    await c.query(
      `savepoint total; set local statement_timeout = ${Math.max(1, Math.floor(r.countTimeoutMs))}`,
    );
    try {
      const n = await this.#countIn(c, r, null, r.countLimit + 1);
      await c.query('release savepoint total');
      return n;
    } catch (err) {
      if ((err as { code?: unknown }).code !== '57014') throw err;
      await c.query('rollback to savepoint total');
      return null;
    }
  }

  async #slicedCount(c: QueryClient, r: PageRequest, range: TimeWindow): Promise<number | null> {
    let n = 0;
    try {
      await scanNewestFirst(range.fromMs, range.toMs, this.#slices(r.countTimeoutMs, c, r), async (w) => {
        n += await this.#countIn(c, r, w, r.countLimit + 1 - n);
        return n > r.countLimit;
      });
    } catch (err) {
      if (err instanceof SiemError && err.code === 'SIEM_ERR_TIMEOUT') return null;
      throw err;
    }
    return n;
  }

  /** Matching rows (every page filter but the cursor) up to `cap`, within `window` when given. */
  async #countIn(c: QueryClient, r: PageRequest, window: TimeWindow | null, cap: number): Promise<number> {
    const p = new Params();
    const where = eventClauses(r.filter, p, 'e');
    if (r.filter.from !== null) where.push(`e.time >= ${p.add(r.filter.from, 'timestamptz')}`);
    if (r.filter.to !== null) where.push(`e.time < ${p.add(r.filter.to, 'timestamptz')}`);
    if (r.tenants !== null) where.push(`e.tenant_id = any(${p.add(r.tenants, 'text[]')})`);
    if (window !== null) where.push(...windowClauses(p, 'e', window));
    const res = await c.query<{ n: number }>(
      `select count(*)::integer as n from (select 1 from ${this.#q}.events e ${
        where.length > 0 ? `where ${where.join(' and ')}` : ''
      } limit ${p.add(cap, 'integer')}) s`,
      p.values,
    );
    return res.rows[0]?.n ?? 0;
  }

  /**
   * The time range a sliced scan covers: the filter's from/to (and `beforeMs`, the cursor), else the
   * hypertable's chunks — where every row is.
   */
  async #range(c: QueryClient, f: EventFilter, beforeMs: number | null): Promise<TimeWindow> {
    let fromMs = f.from === null ? Number.NaN : Date.parse(f.from);
    // Date.parse drops microseconds: one millisecond more, and the statement's own `time < to` cuts
    let toMs = f.to === null ? Number.NaN : Date.parse(f.to) + 1;
    if (Number.isNaN(fromMs) || Number.isNaN(toMs)) {
      const chunks = await this.#chunkSpan(c);
      if (Number.isNaN(fromMs)) fromMs = chunks.fromMs;
      if (Number.isNaN(toMs)) toMs = chunks.toMs;
    }
    if (beforeMs !== null) toMs = Math.min(toMs, beforeMs);
    return { fromMs: dateMs(fromMs), toMs: Math.max(dateMs(fromMs), dateMs(toMs)) };
  }

  /** From the oldest chunk's start to the newest one's end, at least now. */
  async #chunkSpan(c: QueryClient): Promise<TimeWindow> {
    const res = await c.query<{ lo: number | null; hi: number | null }>(
      `select (extract(epoch from min(range_start)) * 1000)::float8 as lo,
              (extract(epoch from max(range_end)) * 1000)::float8 as hi
         from timescaledb_information.chunks
        where hypertable_schema = $1 and hypertable_name = 'events'`,
      [this.#schema],
    );
    const now = Date.now();
    return { fromMs: res.rows[0]?.lo ?? now, toMs: Math.max(res.rows[0]?.hi ?? now, now + 1) };
  }

  /** The slices of one query of `r`'s tenants and filter, probed before each is read. */
  #slices(
    timeoutMs: number,
    c: QueryClient,
    r: { filter: EventFilter; tenants: readonly string[] | null },
  ): SliceOptions {
    return {
      ...this.#slicing,
      nowMs: Date.now(),
      timeoutMs,
      timeoutMessage: `the query took longer than ${timeoutMs} ms: narrow the time range or add a selective filter`,
      probe: (w) => this.#probe(c, r, w),
    };
  }

  /**
   * Rows in `w` of the query's tenants (at most the budget's rows + 1) and, for a text
   * search, the bytes of their messages — from the primary key and the rows' headers (octet_length
   * reads a TOASTed value's length without fetching it), not from the texts.
   */
  async #probe(
    c: QueryClient,
    r: { filter: EventFilter; tenants: readonly string[] | null },
    w: TimeWindow,
  ): Promise<{ rows: number; bytes: number }> {
    const p = new Params();
    const sql = probeSql(this.#q, p, r.tenants, w, r.filter.text !== null, this.#slicing.budget.rows + 1);
    const res = await c.query<{ rows: number; bytes: number }>(sql, p.values);
    return { rows: res.rows[0]?.rows ?? 0, bytes: res.rows[0]?.bytes ?? 0 };
  }

  async histogram(r: HistogramRequest): Promise<HistogramResult> {
    return this.#read(async (c, sliced) => {
      const engine = await this.#engineOf(c);
      let horizonMs = Number.POSITIVE_INFINITY;
      if (engine === 'postgres') {
        const s = await c.query<{ ms: number | null }>(
          `select (extract(epoch from refreshed_to) * 1000)::float8 as ms from ${this.#q}.rollup_state`,
        );
        const ms = s.rows[0]?.ms ?? null;
        horizonMs = ms === null ? Number.NEGATIVE_INFINITY : Math.floor(ms / HOUR_MS) * HOUR_MS;
      }
      const segments = planHistogram({
        fromMs: r.fromMs,
        toMs: r.toMs,
        intervalMs: r.intervalMs,
        rollupsUsable: rollupCanServe(r.filter),
        horizonMs,
      });
      const counts = new Map<number, number>();
      const run = async (windows: HistogramSegment[]) => {
        if (windows.length === 0) return;
        const p = new Params();
        const sql = histogramSql(this.#q, r.filter, r.tenants, r.intervalMs, p, windows);
        const res = await c.query<{ ms: number; n: string }>(sql, p.values);
        // a bucket cut by a slice's edge is counted in two statements
        for (const row of res.rows) counts.set(row.ms, (counts.get(row.ms) ?? 0) + Number(row.n));
      };
      if (!sliced) await run(segments);
      else {
        // one deadline for the whole histogram, however many raw segments it has
        const started = performance.now();
        await run(segments.filter((s) => s.source !== 'raw'));
        for (const s of segments.filter((x) => x.source === 'raw')) {
          const left = Math.max(1, this.#timeoutMs - (performance.now() - started));
          await scanNewestFirst(s.fromMs, s.toMs, this.#slices(left, c, r), async (w) => {
            await run([{ ...s, fromMs: w.fromMs, toMs: w.toMs }]);
            return false;
          });
        }
      }
      const buckets: Array<{ time: string; count: number }> = [];
      const first = Math.floor(r.fromMs / r.intervalMs) * r.intervalMs;
      for (let t = first; t < r.toMs; t += r.intervalMs) {
        buckets.push({ time: new Date(t).toISOString(), count: counts.get(t) ?? 0 });
      }
      const sources = [...new Set(segments.map((s) => s.source))];
      return { buckets, sources, segments };
    });
  }

  /** Which layout the schema was migrated with (recorded by the migrations). */
  async #engineOf(c: QueryClient): Promise<Engine> {
    if (this.#engine !== null) return this.#engine;
    const r = await c.query<{ engine: Engine }>(
      `select engine from ${this.#q}.schema_migrations order by version limit 1`,
    );
    const engine = r.rows[0]?.engine;
    if (engine !== 'timescaledb' && engine !== 'postgres') {
      throw new SiemError('SIEM_ERR_UNAVAILABLE', 'the events schema is not migrated yet');
    }
    this.#engine = engine;
    return engine;
  }

  /** Whether the server is the embedded engine (PGlite's version string names emscripten). */
  async #slicedOn(c: QueryClient): Promise<boolean> {
    if (this.#sliced !== null) return this.#sliced;
    const r = await c.query<{ version: string }>('select version() as version');
    this.#sliced = /emscripten/i.test(r.rows[0]?.version ?? '');
    return this.#sliced;
  }

  /**
   * On a client of its own: a read-only transaction with a statement timeout; on the embedded engine,
   * statements on their own (a transaction would keep the engine for the whole query), `sliced`.
   */
  async #read<T>(fn: (c: QueryClient, sliced: boolean) => Promise<T>): Promise<T> {
    let client: QueryClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new SiemError('SIEM_ERR_NOT_CONNECTED', 'the database is not reachable', { cause: err });
    }
    let broken = false;
    let open = false;
    try {
      const sliced = await this.#slicedOn(client);
      if (!sliced) {
        // statement_timeout is an integer from the configuration, not from the request.
        await client.query(`begin read only; set local statement_timeout = ${this.#timeoutMs}`);
        open = true;
      }
      const out = await fn(client, sliced);
      if (open) await client.query('commit');
      return out;
    } catch (err) {
      if (open) {
        await client.query('rollback').catch(() => {
          broken = true;
        });
      }
      throw translate(err, this.#timeoutMs);
    } finally {
      client.release(broken);
    }
  }
}
