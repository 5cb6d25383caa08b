import type { WebSocket } from '@fastify/websocket';
import { SiemError } from '@siem/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Principal, readableTenants } from './auth.js';
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
import { errorResponses, errorSchema, eventSchema } from './schemas.js';
import type { TailHub } from './tail.js';

type EventsQuery = FilterParams & { limit?: number; next?: string };
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

export function registerEventRoutes(
  app: FastifyInstance,
  deps: { queries: EventQueries | null; tail: TailHub; options: ApiOptions },
): void {
  const { options, tail } = deps;

  app.get<{ Querystring: EventsQuery }>(
    '/api/v1/events',
    {
      config: { access: { scope: 'read' } },
      schema: {
        tags,
        summary: 'Stored events, newest first, filtered (filters combine with AND), with cursor pagination.',
        description:
          'Answers {data, next, total, total_exact}. Pass `next` back as next= with the same filters for the following ' +
          'page; next is null on the last page. total is counted on the first page only, exactly up to the configured ' +
          'count limit (total_exact false: at least that many), and null when counting would take longer than query.count_timeout_ms.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterParamsSchema,
            limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Events per page (≤ 1000).' },
            next: { type: 'string', maxLength: 512, description: 'Cursor from the previous page.' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: eventSchema },
              next: { type: ['string', 'null'] },
              total: { type: ['integer', 'null'] },
              total_exact: { type: 'boolean' },
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
      let after = null;
      if (q.next !== undefined && 'filter' in parsed) {
        const c = decodeCursor(q.next, filterFingerprint(parsed.filter));
        if (typeof c === 'string') problems.push({ parameter: 'next', message: c });
        else after = c;
      }
      if (problems.length > 0 || !('filter' in parsed)) throw invalid(problems);
      const filter = parsed.filter;
      const tenants = readableTenants(principalOf(req), filter.tenants);
      const page = await storageOrThrow(deps.queries).page({
        filter,
        tenants,
        after,
        limit: q.limit ?? options.query.default_limit,
        countLimit: options.query.count_limit,
        countTimeoutMs: options.query.count_timeout_ms,
      });
      return {
        data: page.events,
        next: page.next === null ? null : encodeCursor(page.next, filterFingerprint(filter)),
        total: page.total,
        total_exact: page.totalExact,
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
      const h = await storageOrThrow(deps.queries).histogram({
        filter,
        tenants,
        fromMs,
        toMs,
        intervalMs: intervalMs!,
      });
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
      tail.add(socket, principal.id, compileMatcher(scoped), { tenants });
    },
  );
}
