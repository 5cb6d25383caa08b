import type { NormalizedEvent } from '@siem/core';
import type { EventFilter, IpMatch } from './filters.js';
import type { HistogramSegment } from './histogram.js';
import type { TimeWindow } from './time-slices.js';

/** The SQL pieces of the events queries: bound parameters, filter clauses, page columns, byte budget. */
/** Collects bound parameters: every value from a request goes through here, never into the SQL text. */
export class Params {
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
export function dimensionClauses(f: EventFilter, p: Params, a: string): string[] {
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
export function eventClauses(f: EventFilter, p: Params, a: string): string[] {
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
export const SELECT_COLUMNS = `
  to_char(e.time at time zone 'UTC', ${ISO_US}) as time_text,
  to_char(e.received_at at time zone 'UTC', ${ISO_US}) as received_at_text,
  e.tenant_id, e.event_id, e.source_type, e.host_name, e.host_ip, e.app_name, e.severity,
  e.category, e.action, e.outcome, e.user_name, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.process_name,
  e.process_pid::float8 as process_pid, e.event_code, e.message, e.attrs, e.raw, e.class_uid`;

export interface PageRow {
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

export function toEvent(r: PageRow): NormalizedEvent {
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
export function withByteBudget(sql: string, budget: string): string {
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

export function windowClauses(p: Params, a: string, w: TimeWindow): string[] {
  return [
    `${a}.time >= ${p.add(new Date(w.fromMs).toISOString(), 'timestamptz')}`,
    `${a}.time < ${p.add(new Date(w.toMs).toISOString(), 'timestamptz')}`,
  ];
}

/** One segment of a histogram: counts per bucket from the events (raw) or a rollup. */
function histogramPart(
  q: string,
  filter: EventFilter,
  tenants: readonly string[] | null,
  p: Params,
  s: HistogramSegment,
  iv: string,
  origin: string,
): string {
  const tenantClause = (a: string) =>
    tenants === null ? [] : [`${a}.tenant_id = any(${p.add(tenants, 'text[]')})`];
  const from = p.add(new Date(s.fromMs).toISOString(), 'timestamptz');
  const to = p.add(new Date(s.toMs).toISOString(), 'timestamptz');
  if (s.source === 'raw') {
    const where = [
      ...tenantClause('e'),
      ...eventClauses(filter, p, 'e'),
      `e.time >= ${from}`,
      `e.time < ${to}`,
    ];
    return `select date_bin(${iv}, e.time, ${origin}) as b, count(*)::bigint as n
            from ${q}.events e where ${where.join(' and ')} group by 1`;
  }
  const table = s.source === 'hourly' ? 'events_hourly' : 'events_daily';
  const where = [
    ...tenantClause('r'),
    ...dimensionClauses(filter, p, 'r'),
    `r.bucket >= ${from}`,
    `r.bucket < ${to}`,
  ];
  return `select date_bin(${iv}, r.bucket, ${origin}) as b, sum(r.events)::bigint as n
          from ${q}.${table} r where ${where.join(' and ')} group by 1`;
}

/**
 * The tenants a query reads, as a relation of `id`: the given ones, or every tenant found by a loose
 * index scan of the primary key (one probe per tenant).
 */
export function tenantSource(q: string, p: Params, tenants: readonly string[] | null): string {
  return tenants === null
    ? `(with recursive tenants(id) as (
         select min(tenant_id) from ${q}.events
         union all
         select (select min(tenant_id) from ${q}.events where tenant_id > tenants.id)
         from tenants where tenants.id is not null
       ) select id from tenants where id is not null)`
    : `(select unnest(${p.add(tenants, 'text[]')}) as id)`;
}

/**
 * The rows of `w` in the tenants' primary keys, up to `cap`, and for a text search the bytes of their
 * messages — octet_length reads a TOASTed value's length from its header, not the text. The outer
 * limit ends the scan of every tenant once `cap` rows are found.
 */
export function probeSql(
  q: string,
  p: Params,
  tenants: readonly string[] | null,
  w: TimeWindow,
  text: boolean,
  cap: number,
): string {
  const limit = p.add(cap, 'integer');
  const bytes = text ? 'coalesce(sum(octet_length(x.message)), 0)' : '0';
  return `select count(*)::integer as rows, ${bytes}::float8 as bytes from (
      select x.message from ${tenantSource(q, p, tenants)} as t
      cross join lateral (
        select e.message from ${q}.events e
        where e.tenant_id = t.id and ${windowClauses(p, 'e', w).join(' and ')}
        limit ${limit}
      ) x
      limit ${limit}
    ) x`;
}

/** Counts per bucket of `intervalMs` over the segments, from the events (raw) or the rollups. */
export function histogramSql(
  q: string,
  filter: EventFilter,
  tenants: readonly string[] | null,
  intervalMs: number,
  p: Params,
  segments: HistogramSegment[],
): string {
  const iv = p.add(`${intervalMs / 1000} seconds`, 'interval');
  const origin = p.add('1970-01-01T00:00:00Z', 'timestamptz');
  const parts = segments.map((s) => histogramPart(q, filter, tenants, p, s, iv, origin));
  return `select (extract(epoch from b) * 1000)::float8 as ms, sum(n)::bigint::text as n
          from (${parts.join('\n union all\n')}) u group by b`;
}

/** The dates a window may reach: years 0001 to 9999, as the API's dates are. */
const MIN_DATE_MS = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z
const MAX_DATE_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** `ms` within what a window's ISO bound can say (a cursor or `to` at the end of 9999, plus 1 ms). */
export function dateMs(ms: number): number {
  return Math.min(Math.max(ms, MIN_DATE_MS), MAX_DATE_MS);
}
