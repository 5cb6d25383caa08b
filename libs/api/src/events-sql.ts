import { type NormalizedEvent, SiemError } from '@siem/core';
import type { CursorPosition } from './cursor.js';
import type { EventFilter, IpMatch } from './filters.js';
import {
  type HistogramSegment,
  type HistogramSource,
  HOUR_MS,
  planHistogram,
  rollupCanServe,
} from './histogram.js';

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

/** Collects bound parameters: every value from a request goes through here, never into the SQL text. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

/** Escapes LIKE's wildcards so `q` is matched as plain text (backslash is LIKE's default escape). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function eqAny(p: Params, column: string, values: readonly (string | number)[], cast: string): string {
  // One value keeps `=`, so an index on (tenant_id, column, time) also yields the newest-first order.
  return values.length === 1
    ? `${column} = ${p.add(values[0], cast)}`
    : `${column} = any(${p.add(values, `${cast}[]`)})`;
}

function ipClause(p: Params, column: string, ips: readonly IpMatch[]): string {
  const one = (ip: IpMatch) =>
    ip.prefix === (ip.family === 'ipv4' ? 32 : 128)
      ? `${column} = ${p.add(ip.address, 'inet')}`
      : `${column} <<= ${p.add(ip.inet, 'inet')}`;
  return ips.length === 1 ? one(ips[0]!) : `(${ips.map(one).join(' or ')})`;
}

/** The dimension filters both the events table and the rollups have. */
function dimensionClauses(f: EventFilter, p: Params, a: string): string[] {
  const c: string[] = [];
  if (f.hosts) c.push(eqAny(p, `${a}.host_name`, f.hosts, 'text'));
  if (f.sourceTypes) c.push(eqAny(p, `${a}.source_type`, f.sourceTypes, 'text'));
  if (f.severities) c.push(eqAny(p, `${a}.severity`, f.severities, 'smallint'));
  if (f.minSeverity !== null) c.push(`${a}.severity <= ${p.add(f.minSeverity, 'smallint')}`);
  if (f.categories) c.push(eqAny(p, `${a}.category`, f.categories, 'text'));
  if (f.outcomes) c.push(eqAny(p, `${a}.outcome`, f.outcomes, 'text'));
  return c;
}

/** Every filter except time and tenant, on the events table. */
function eventClauses(f: EventFilter, p: Params, a: string): string[] {
  const c = dimensionClauses(f, p, a);
  if (f.actions) c.push(eqAny(p, `${a}.action`, f.actions, 'text'));
  if (f.users) c.push(eqAny(p, `${a}.user_name`, f.users, 'text'));
  if (f.srcIps) c.push(ipClause(p, `${a}.src_ip`, f.srcIps));
  if (f.dstIps) c.push(ipClause(p, `${a}.dst_ip`, f.dstIps));
  if (f.eventCodes) c.push(eqAny(p, `${a}.event_code`, f.eventCodes, 'text'));
  if (f.text !== null) c.push(`${a}.message ilike ${p.add(likePattern(f.text), 'text')}`);
  return c;
}

const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** Columns of a page row: times as text with microseconds (the cursor needs them exact). */
const SELECT_COLUMNS = `
  to_char(e.time at time zone 'UTC', ${ISO_US}) as time_text,
  to_char(e.received_at at time zone 'UTC', ${ISO_US}) as received_at_text,
  e.tenant_id, e.event_id, e.source_type, e.host_name, e.host_ip, e.app_name, e.severity,
  e.category, e.action, e.outcome, e.user_name, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.process_name,
  e.process_pid::float8 as process_pid, e.event_code, e.message, e.attrs, e.raw, e.class_uid`;

interface PageRow {
  time_text: string;
  received_at_text: string;
  tenant_id: string;
  event_id: string;
  source_type: string;
  host_name: string | null;
  host_ip: string | null;
  app_name: string | null;
  severity: number;
  category: string;
  action: string | null;
  outcome: string;
  user_name: string | null;
  src_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  process_name: string | null;
  process_pid: number | null;
  event_code: string | null;
  message: string | null;
  attrs: Record<string, unknown>;
  raw: string;
  class_uid: number | null;
}

function toEvent(r: PageRow): NormalizedEvent {
  return {
    time: r.time_text,
    receivedAt: r.received_at_text,
    tenantId: r.tenant_id,
    eventId: r.event_id,
    sourceType: r.source_type as NormalizedEvent['sourceType'],
    hostName: r.host_name,
    hostIp: r.host_ip,
    appName: r.app_name,
    severity: r.severity,
    category: r.category as NormalizedEvent['category'],
    action: r.action,
    outcome: r.outcome as NormalizedEvent['outcome'],
    userName: r.user_name,
    srcIp: r.src_ip,
    srcPort: r.src_port,
    dstIp: r.dst_ip,
    dstPort: r.dst_port,
    processName: r.process_name,
    processPid: r.process_pid,
    eventCode: r.event_code,
    message: r.message,
    attrs: r.attrs,
    raw: r.raw,
    classUid: r.class_uid,
  };
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

/** Bytes of a page row's JSON besides its text columns and attrs: names, times, ids, numbers. */
const ROW_FIXED_BYTES = 480;

/**
 * JSON bytes of a row, as the database counts them: the text columns as escaped JSON strings (to_json
 * escapes as JSON.stringify does), attrs as jsonb's text (a little longer than JSON.stringify's), and
 * the fixed part. Reading every text in full, it is computed only for rows `LOWER_BYTES` lets through.
 */
const ROW_BYTES = (
  a: string,
) => `(octet_length(to_json(array[${['tenant_id', 'host_name', 'app_name', 'action', 'user_name', 'process_name', 'event_code', 'message', 'raw'].map((c) => `${a}.${c}`).join(', ')}])::text)
  + octet_length(${a}.attrs::text) + ${ROW_FIXED_BYTES})::bigint`;

/**
 * A lower bound of ROW_BYTES that reads no large value: octet_length takes the length of a TOASTed
 * text from its header, where to_json would fetch and decompress it.
 */
const LOWER_BYTES = (a: string) =>
  `(octet_length(${a}.raw) + coalesce(octet_length(${a}.message), 0) + ${ROW_FIXED_BYTES})::bigint`;

/**
 * The rows of `sql` (a page in its order) up to a byte budget, cut by the database so the rows past it
 * are never sent (a page of 60 KB events costs the budget, not limit × 60 KB). Two running sums: the
 * cheap lower bound first drops the rows that cannot fit whatever their escaping, then the exact size
 * cuts the rest. The first row always passes. `fetched` says how many rows `sql` gave.
 */
function withByteBudget(sql: string, budget: string): string {
  const order = (a: string) => `${a}.time desc, ${a}.event_id desc, ${a}.tenant_id desc`;
  const running = (a: string, column: string) =>
    `sum(${a}.${column}) over (order by ${order(a)} rows unbounded preceding)`;
  return `
    select v.* from (
      select w.*, ${running('w', 'row_bytes')} as bytes_through
      from (
        select u.*, ${ROW_BYTES('u')} as row_bytes from (
          select x.*, ${running('x', 'lower_bytes')} as lower_through, count(*) over () as fetched
          from (select x.*, ${LOWER_BYTES('x')} as lower_bytes from (${sql}) x) x
        ) u
        where u.lower_through <= ${budget} or u.lower_through = u.lower_bytes
      ) w
    ) v
    where v.bytes_through <= ${budget} or v.bytes_through = v.row_bytes
    order by ${order('v')}`;
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

/**
 * The read side of `<schema>.events` for the API.
 *
 * Pages are newest first, ordered by (time, event_id, tenant_id) descending, with keyset cursors. The
 * table's primary key (tenant_id, time, event_id) serves a tenant's newest-first scan; a query over
 * several (or all) tenants runs that scan once per tenant (LATERAL, `limit` rows each) and merges —
 * sorting the whole range instead would read every matching row. Tenants are found with a loose index
 * scan of the primary key (one probe per tenant) when the request names none.
 */
export class EventQueries {
  readonly #pool: QueryPool;
  readonly #q: string;
  readonly #timeoutMs: number;
  #engine: Engine | null = null;

  constructor(pool: QueryPool, schema: string, timeoutMs: number) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    this.#pool = pool;
    this.#q = `"${schema}"`;
    this.#timeoutMs = Math.max(1, Math.floor(timeoutMs));
  }

  async page(r: PageRequest): Promise<PageResult> {
    return this.#read(async (c) => {
      const p = new Params();
      const q = this.#q;
      const inner = eventClauses(r.filter, p, 'e');
      if (r.filter.from !== null) inner.push(`e.time >= ${p.add(r.filter.from, 'timestamptz')}`);
      if (r.filter.to !== null) inner.push(`e.time < ${p.add(r.filter.to, 'timestamptz')}`);
      const outer: string[] = [];
      if (r.after !== null) {
        const t = p.add(r.after.time, 'timestamptz');
        const id = p.add(r.after.eventId, 'uuid');
        // <= inside (index-friendly on each tenant's key), the exact tie-break on tenant outside.
        inner.push(`(e.time, e.event_id) <= (${t}, ${id})`, `e.time <= ${t}`);
        outer.push(`(x.time, x.event_id, x.tenant_id) < (${t}, ${id}, ${p.add(r.after.tenantId, 'text')})`);
      }
      const offset = r.offset ?? 0;
      const lim = p.add(r.limit + 1, 'integer');
      // one more row per tenant than the page, so an excluded tie on the cursor row never shortens it
      const perTenant = p.add(offset + r.limit + 2, 'integer');
      const tenantSource =
        r.tenants === null
          ? `(with recursive tenants(id) as (
               select min(tenant_id) from ${q}.events
               union all
               select (select min(tenant_id) from ${q}.events where tenant_id > tenants.id)
               from tenants where tenants.id is not null
             ) select id from tenants where id is not null)`
          : `(select unnest(${p.add(r.tenants, 'text[]')}) as id)`;
      const merged = `
            select x.* from ${tenantSource} as t
            cross join lateral (
              select e.time, ${SELECT_COLUMNS}
              from ${q}.events e
              where e.tenant_id = t.id${inner.map((w) => `\n                and ${w}`).join('')}
              order by e.time desc, e.event_id desc
              limit ${perTenant}
            ) x
            ${outer.length > 0 ? `where ${outer.join(' and ')}` : ''}
            order by x.time desc, x.event_id desc, x.tenant_id desc
            ${offset > 0 ? `offset ${p.add(offset, 'integer')}` : ''}
            limit ${lim}`;
      const budgeted = r.maxBytes !== undefined;
      const sql = budgeted ? withByteBudget(merged, p.add(r.maxBytes, 'bigint')) : merged;
      const res = await c.query<PageRow & { fetched?: string }>(sql, p.values);
      const rows = res.rows;
      const fetched = budgeted ? Number(rows[0]?.fetched ?? 0) : rows.length;
      const page = rows.length > r.limit ? rows.slice(0, r.limit) : rows;
      const more = fetched > page.length;
      const truncatedByBytes = page.length < Math.min(r.limit, fetched);
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
          const cp = new Params();
          const where = eventClauses(r.filter, cp, 'e');
          if (r.filter.from !== null) where.push(`e.time >= ${cp.add(r.filter.from, 'timestamptz')}`);
          if (r.filter.to !== null) where.push(`e.time < ${cp.add(r.filter.to, 'timestamptz')}`);
          if (r.tenants !== null) where.push(`e.tenant_id = any(${cp.add(r.tenants, 'text[]')})`);
          const cap = cp.add(r.countLimit + 1, 'integer');
          // The total is a courtesy: it gets a budget of its own and is left out (null) when a filter
          // without an index would make it slow, instead of delaying the page.
          await c.query(
            `savepoint total; set local statement_timeout = ${Math.max(1, Math.floor(r.countTimeoutMs))}`,
          );
          try {
            const cr = await c.query<{ n: number }>(
              `select count(*)::integer as n from (select 1 from ${q}.events e ${
                where.length > 0 ? `where ${where.join(' and ')}` : ''
              } limit ${cap}) s`,
              cp.values,
            );
            await c.query('release savepoint total');
            const n = cr.rows[0]?.n ?? 0;
            totalExact = n <= r.countLimit;
            total = Math.min(n, r.countLimit);
          } catch (err) {
            if ((err as { code?: unknown }).code !== '57014') throw err;
            await c.query('rollback to savepoint total');
          }
        }
      }
      return { events: page.map(toEvent), next, total, totalExact, truncatedByBytes };
    });
  }

  async histogram(r: HistogramRequest): Promise<HistogramResult> {
    return this.#read(async (c) => {
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
      const p = new Params();
      const iv = p.add(`${r.intervalMs / 1000} seconds`, 'interval');
      const origin = p.add('1970-01-01T00:00:00Z', 'timestamptz');
      const tenantClause = (a: string) =>
        r.tenants === null ? [] : [`${a}.tenant_id = any(${p.add(r.tenants, 'text[]')})`];
      const parts = segments.map((s) => {
        const from = p.add(new Date(s.fromMs).toISOString(), 'timestamptz');
        const to = p.add(new Date(s.toMs).toISOString(), 'timestamptz');
        if (s.source === 'raw') {
          const where = [
            ...tenantClause('e'),
            ...eventClauses(r.filter, p, 'e'),
            `e.time >= ${from}`,
            `e.time < ${to}`,
          ];
          return `select date_bin(${iv}, e.time, ${origin}) as b, count(*)::bigint as n
                  from ${this.#q}.events e where ${where.join(' and ')} group by 1`;
        }
        const table = s.source === 'hourly' ? 'events_hourly' : 'events_daily';
        const where = [
          ...tenantClause('r'),
          ...dimensionClauses(r.filter, p, 'r'),
          `r.bucket >= ${from}`,
          `r.bucket < ${to}`,
        ];
        return `select date_bin(${iv}, r.bucket, ${origin}) as b, sum(r.events)::bigint as n
                from ${this.#q}.${table} r where ${where.join(' and ')} group by 1`;
      });
      const counts = new Map<number, number>();
      if (parts.length > 0) {
        const res = await c.query<{ ms: number; n: string }>(
          `select (extract(epoch from b) * 1000)::float8 as ms, sum(n)::bigint::text as n
           from (${parts.join('\n union all\n')}) u group by b`,
          p.values,
        );
        for (const row of res.rows) counts.set(row.ms, Number(row.n));
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

  /** A read-only transaction with a statement timeout, on a client of its own. */
  async #read<T>(fn: (c: QueryClient) => Promise<T>): Promise<T> {
    let client: QueryClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new SiemError('SIEM_ERR_NOT_CONNECTED', 'the database is not reachable', { cause: err });
    }
    let broken = false;
    try {
      // statement_timeout is an integer from the configuration, not from the request.
      await client.query(`begin read only; set local statement_timeout = ${this.#timeoutMs}`);
      const out = await fn(client);
      await client.query('commit');
      return out;
    } catch (err) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw translate(err, this.#timeoutMs);
    } finally {
      client.release(broken);
    }
  }
}

function translate(err: unknown, timeoutMs: number): unknown {
  if (err instanceof SiemError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '57014') {
    return new SiemError(
      'SIEM_ERR_TIMEOUT',
      `the query took longer than ${timeoutMs} ms: narrow the time range or add a selective filter`,
      { cause: err },
    );
  }
  if (typeof code === 'string' && code.startsWith('22')) {
    // Data exceptions come from the request's values (every one is a bound parameter): a value the
    // checks before the query let through is the client's problem to fix, not an outage.
    return new SiemError(
      'SIEM_ERR_REQUEST_INVALID',
      `a parameter is out of what the database accepts: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (code === '42P01' || code === '3F000') {
    return new SiemError('SIEM_ERR_UNAVAILABLE', 'the events schema is not migrated yet', { cause: err });
  }
  if (typeof code === 'string' && /^(08|57P0)/.test(code)) {
    return new SiemError('SIEM_ERR_NOT_CONNECTED', 'the database is not reachable', { cause: err });
  }
  return new SiemError('SIEM_ERR_DB_QUERY', 'the events query failed', { cause: err });
}
