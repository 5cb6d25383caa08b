import type { WebSocket } from '@fastify/websocket';
import { SiemError } from '@siem/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type KeyRevocation, type Principal, readableTenants } from './auth.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { EventQueries } from './events-sql.js';
import {
  compileMatcher,
  type EventFilter,
  type FilterParams,
  filterFingerprint,
  filterParamsSchema,
  type ParamProblem,
  parseFilter,
} from './filters.js';
import { parseInterval } from './histogram.js';
import type { ApiOptions } from './options.js';
import { PAGE_ENVELOPE_BYTES, pageMeta, pageMetaSchema, pagingOf } from './paging.js';
import { errorResponses, errorSchema, eventSchema } from './schemas.js';
import type { TailHub } from './tail.js';

type EventsQuery = FilterParams & { limit?: number; next?: string; page?: number; per_page?: number };
type HistogramQuery = FilterParams & { interval?: string };

function invalid(problems: ParamProblem[]): SiemError {
  return new SiemError(
    'SIEM_ERR_REQUEST_INVALID',
    `invalid parameters: ${problems.map((p) => `${p.parameter} ${p.message}`).join('; ')}`,
    { details: problems },
  );
}

function filterOf(query: FilterParams, extra: ParamProblem[] = []): EventFilter {
  const parsed = parseFilter(query);
  if ('problems' in parsed) throw invalid([...parsed.problems, ...extra]);
  if (extra.length > 0) throw invalid(extra);
  return parsed.filter;
}

function principalOf(req: FastifyRequest): Principal {
  // enforceAccess ran before: a protected route always has a principal
  const p = req.principal;
  if (p === null) throw new SiemError('SIEM_ERR_AUTH', 'an API key is required');
  return p;
}

function storageOrThrow(queries: EventQueries | null): EventQueries {
  if (queries === null) {
    throw new SiemError(
      'SIEM_ERR_UNAVAILABLE',
      'this role stores no events (the gateway role): query the normalizer role or the all role',
    );
  }
  return queries;
}

const tags = ['events'];

/**
 * Queries each key (or client address, without keys) has running: beyond `max` a request answers 429
 * at once instead of queueing for a connection that the other readers (and, on a shared engine, the
 * writer) need.
 */
class QuerySlots {
  readonly #running = new Map<string, number>();
  constructor(readonly max: number) {}

  async run<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
    const who =
      req.principal?.id === undefined || req.principal.id === 'loopback'
        ? `ip:${req.ip}`
        : `key:${req.principal.id}`;
    const n = this.#running.get(who) ?? 0;
    if (n >= this.max) {
      throw new SiemError(
        'SIEM_ERR_RATE_LIMITED',
        `${n} queries of this ${who.startsWith('key:') ? 'key' : 'client'} are running (api.query.max_concurrent_per_key): retry when one has answered`,
      );
    }
    this.#running.set(who, n + 1);
    try {
      return await fn();
    } finally {
      const left = (this.#running.get(who) ?? 1) - 1;
      if (left === 0) this.#running.delete(who);
      else this.#running.set(who, left);
    }
  }
}

/** A text search without `from` covers the last `hours`: the filter the query runs with, and that start. */
function boundedText(
  filter: EventFilter,
  hours: number,
): { filter: EventFilter; searchedFrom: string | null } {
  if (filter.text === null || filter.fromMs !== null) return { filter, searchedFrom: null };
  const fromMs = (filter.toMs ?? Date.now()) - hours * 3_600_000;
  const from = new Date(fromMs).toISOString();
  return { filter: { ...filter, from, fromMs }, searchedFrom: from };
}

export function registerEventRoutes(
  app: FastifyInstance,
  deps: {
    queries: EventQueries | null;
    tail: TailHub;
    options: ApiOptions;
    /** Why the key may no longer tail (keys changed between the upgrade's check and now), or null. */
    tailRevocation?: (p: Principal) => KeyRevocation | null;
  },
): void {
  const { options, tail } = deps;
  const slots = new QuerySlots(options.query.max_concurrent_per_key);

  app.get<{ Querystring: EventsQuery }>(
    '/api/v1/events',
    {
      config: { access: { scope: 'read' } },
      schema: {
        tags,
        summary:
          'Stored events, newest first, filtered (filters combine with AND), with cursor or page/per_page pagination.',
        description:
          'Two ways to page, never both in one request (400):\n\n' +
          '- **Cursor** (the default, and the fast path at any depth): answers {data, next, total, total_exact, ' +
          'truncated}. Pass `next` back as next= with the same filters for the following page; next is null on the ' +
          'last page. total is counted on the first page only, exactly up to query.count_limit (total_exact false: ' +
          'at least that many), and null when counting would take longer than query.count_timeout_ms.\n' +
          '- **page / per_page** (1-based, per_page ≤ 1000), like an audit-log API: answers {data, meta: ' +
          '{current_page, per_page, total_pages, total_count, total_count_capped}, next, truncated}. ' +
          'page × per_page may be at most query.max_offset (default 100000): each deeper page costs more to skip ' +
          'to, so walk further with the cursor (`next` of any page continues right after it). total_count is ' +
          'counted on every page up to query.max_offset: total_count_capped true means at least that many match ' +
          '(total_pages is then a lower bound); both are null when counting would take longer than ' +
          'query.count_timeout_ms.\n\n' +
          'Every page also stops at a byte budget (query.max_page_bytes, default 8 MiB of JSON, the first event ' +
          'always included): then `truncated` is "byte_budget", the page holds fewer events than asked although ' +
          'more match, and `next` continues right after its last event (page numbers do not: follow next). ' +
          '`truncated` is null otherwise.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterParamsSchema,
            limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Events per page (≤ 1000).' },
            next: { type: 'string', maxLength: 512, description: 'Cursor from the previous page.' },
            page: {
              type: 'integer',
              minimum: 1,
              description:
                'Page number, 1-based (page mode; not with next or limit); page × per_page ≤ query.max_offset.',
            },
            per_page: {
              type: 'integer',
              minimum: 1,
              maximum: 1000,
              description: 'Events per page in page mode (≤ 1000; default query.default_limit).',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: eventSchema },
              next: { type: ['string', 'null'] },
              total: { type: ['integer', 'null'], description: 'Cursor mode only.' },
              total_exact: { type: 'boolean', description: 'Cursor mode only.' },
              meta: { ...pageMetaSchema, description: 'Page mode only.' },
              truncated: {
                type: ['string', 'null'],
                enum: ['byte_budget', null],
                description: 'byte_budget: the page stopped at query.max_page_bytes; follow next.',
              },
              searched_from: {
                type: ['string', 'null'],
                description:
                  'Set when q was given without from: the text search covered events from this time on ' +
                  '(query.text_search_hours); give from to search further back.',
              },
            },
          },
          ...errorResponses,
          503: errorSchema,
          504: errorSchema,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const parsed = parseFilter(q);
      const problems = 'problems' in parsed ? [...parsed.problems] : [];
      const paging = pagingOf(q, options, problems);
      let after = null;
      if (q.next !== undefined && paging === null && 'filter' in parsed) {
        const c = decodeCursor(q.next, filterFingerprint(parsed.filter));
        if (typeof c === 'string') problems.push({ parameter: 'next', message: c });
        else after = c;
      }
      if (problems.length > 0 || !('filter' in parsed)) throw invalid(problems);
      const filter = parsed.filter;
      const tenants = readableTenants(principalOf(req), filter.tenants);
      const limit = paging?.perPage ?? q.limit ?? options.query.default_limit;
      // the cursor is bound to the filter as asked; the bounded one moves with the clock
      const bounded = boundedText(filter, options.query.text_search_hours);
      const queries = storageOrThrow(deps.queries);
      const page = await slots.run(req, () =>
        queries.page({
          filter: bounded.filter,
          tenants,
          after,
          limit,
          offset: paging === null ? 0 : (paging.page - 1) * paging.perPage,
          maxBytes: options.query.max_page_bytes - PAGE_ENVELOPE_BYTES,
          // page mode counts every page, up to the deepest offset it may reach
          countLimit: paging === null ? options.query.count_limit : options.query.max_offset,
          countTimeoutMs: options.query.count_timeout_ms,
        }),
      );
      const next = page.next === null ? null : encodeCursor(page.next, filterFingerprint(filter));
      const truncated = page.truncatedByBytes ? 'byte_budget' : null;
      const searched_from = bounded.searchedFrom;
      if (paging === null) {
        return {
          data: page.events,
          next,
          total: page.total,
          total_exact: page.totalExact,
          truncated,
          searched_from,
        };
      }
      return {
        data: page.events,
        meta: pageMeta(paging, page.total, page.totalExact),
        next,
        truncated,
        searched_from,
      };
    },
  );

  app.get<{ Querystring: HistogramQuery }>(
    '/api/v1/events/histogram',
    {
      config: { access: { scope: 'read' } },
      schema: {
        tags,
        summary: 'Event counts per time bucket, with the same filters as the events query.',
        description:
          'Buckets are aligned on the Unix epoch (UTC). Whole days and hours are counted from the daily and hourly ' +
          'rollups (TimescaleDB continuous aggregates, or the rollup tables on PostgreSQL) when the interval is a ' +
          'multiple of them and the filters use only their dimensions (tenant, host, source_type, severity, ' +
          'category, outcome); the rest from the raw events. `sources` says which were read. Default range: the ' +
          'last 24 hours.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterParamsSchema,
            interval: {
              type: 'string',
              maxLength: 16,
              description: 'Bucket width: 30s, 5m, 1h, 1d, 1w (default 1h).',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              interval: { type: 'string' },
              from: { type: 'string' },
              to: { type: 'string' },
              sources: { type: 'array', items: { type: 'string', enum: ['raw', 'hourly', 'daily'] } },
              total: { type: 'integer' },
              buckets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { time: { type: 'string' }, count: { type: 'integer' } },
                },
              },
            },
          },
          ...errorResponses,
          503: errorSchema,
          504: errorSchema,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const interval = q.interval ?? '1h';
      const intervalMs = parseInterval(interval);
      const extra: ParamProblem[] = [];
      if (intervalMs === null)
        extra.push({
          parameter: 'interval',
          message: `${JSON.stringify(interval)} must be like 30s, 5m, 1h, 1d or 1w`,
        });
      const filter = filterOf(q, extra);
      const toMs = filter.toMs ?? Date.now();
      const fromMs = filter.fromMs ?? toMs - 24 * 3_600_000;
      if (fromMs >= toMs) throw invalid([{ parameter: 'from', message: 'must be earlier than to' }]);
      const buckets = Math.ceil((toMs - fromMs) / intervalMs!) + 1;
      if (buckets > options.query.max_buckets) {
        throw invalid([
          {
            parameter: 'interval',
            message: `gives ${buckets} buckets over this range; at most ${options.query.max_buckets}`,
          },
        ]);
      }
      const tenants = readableTenants(principalOf(req), filter.tenants);
      const queries = storageOrThrow(deps.queries);
      const h = await slots.run(req, () =>
        queries.histogram({ filter, tenants, fromMs, toMs, intervalMs: intervalMs! }),
      );
      return {
        interval,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        sources: h.sources,
        total: h.buckets.reduce((s, b) => s + b.count, 0),
        buckets: h.buckets,
      };
    },
  );

  app.get<{ Querystring: FilterParams }>(
    '/api/v1/tail',
    {
      websocket: true,
      config: { access: { scope: 'tail' } },
      schema: {
        tags,
        summary:
          'Live tail (WebSocket): events as they are stored, with the same filters as the events query.',
        description:
          'Messages from the server: {"type":"hello",…}, then {"type":"events","events":[…]} and, when this client ' +
          'fell behind, {"type":"dropped","count":n,"total":m} at the place of the gap: a client gets at most ' +
          'tail.queue_events events ahead of what it has read; the rest are dropped for it alone.',
        querystring: { type: 'object', additionalProperties: false, properties: { ...filterParamsSchema } },
      },
      preHandler: async (req) => {
        // refuse before the upgrade, as a plain HTTP answer
        if (!req.ws)
          throw new SiemError(
            'SIEM_ERR_REQUEST_INVALID',
            'this endpoint is a WebSocket: send an upgrade request',
          );
        const filter = filterOf(req.query);
        readableTenants(principalOf(req), filter.tenants);
        if (tail.full)
          throw new SiemError('SIEM_ERR_UNAVAILABLE', 'too many live tail clients; try again later');
      },
    },
    (socket: WebSocket, req: FastifyRequest<{ Querystring: FilterParams }>) => {
      const principal = principalOf(req);
      const filter = filterOf(req.query);
      const tenants = readableTenants(principal, filter.tenants);
      const scoped: EventFilter = { ...filter, tenants };
      tail.add(socket, principal, compileMatcher(scoped), { tenants });
      // the keys may have changed while the upgrade was under way: judge this socket like the others
      if (deps.tailRevocation !== undefined)
        tail.revoke((p) => (p === principal ? deps.tailRevocation!(p) : null));
    },
  );
}
