import { readFileSync } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { type HealthStatus, type NormalizedEvent, SiemError } from '@siem/core';
import {
  collectProcessMetrics,
  counter,
  histogram,
  type Logger,
  metricsRegistry,
  type Registry,
} from '@siem/observability';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type AdapterControl, registerAdapterRoutes } from './adapters.js';
import { ApiKeyStore, enforceAccess, identify, isLoopbackHost, type RouteAccess } from './auth.js';
import { browserProblem } from './browser-guard.js';
import { locateConsole, registerConsoleRoutes } from './console.js';
import { registerEventRoutes } from './events-routes.js';
import { EventQueries, type QueryPool } from './events-sql.js';
import { toHttpError } from './http-errors.js';
import type { ApiOptions } from './options.js';
import { errorResponses, healthSchema } from './schemas.js';
import { type StatSeries, StatsSampler } from './stats.js';
import { registerStatusRoute, type StatusSource } from './status.js';
import { TailHub } from './tail.js';

export interface ReadinessCheck {
  /** Dependency name in the answer: `kafka`, `database`, `buffer`, … */
  name: string;
  check(): Promise<HealthStatus>;
}

/** Where the events are: a pg Pool (e.g. @siem/storage createPool) and the storage schema. */
export interface ApiDatabase {
  pool: QueryPool;
  /** storage.schema (default `siem`): the API reads `<schema>.events` and its rollups. */
  schema: string;
}

export interface ApiServerOptions {
  options: ApiOptions;
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  /** The adapters of the role (its AdapterRegistry); null where there are none (normalizer role). */
  adapters?: AdapterControl | null;
  /** The events database; null where nothing is stored (gateway role): query routes answer 503. */
  database?: ApiDatabase | null;
  /** Registry sampled for /api/v1/stats (default: the process registry). */
  registry?: Registry;
  /** Reductions of the metrics for /api/v1/stats (default: defaultStatSeries). */
  statSeries?: readonly StatSeries[];
  /** The web console's built files (default: the @siem/console package's dist/www); null: none. */
  consoleDir?: string | null;
  /** What GET /api/v1/status shows (version, role, configuration, tiers); null/absent: 503. */
  status?: StatusSource | null;
}

/** The API server of a role. Other libraries add routes to `app` before `listen` (see routeAccess). */
export interface ApiServer {
  readonly app: FastifyInstance;
  readonly tail: TailHub;
  readonly stats: StatsSampler;
  /** Listens on api.host:api.port (HTTPS with api.tls); resolves with the address. */
  listen(): Promise<string>;
  close(): Promise<void>;
  /**
   * Hands the rows of a stored batch to the live tail (wire the NormalizingSink's `onStored` here).
   * Never blocks, never throws; cost O(clients × rows) with each row serialized at most once.
   */
  publishStored(rows: readonly NormalizedEvent[]): void;
}

const requestMetrics = {
  requests: counter({
    name: 'siem_api_requests_total',
    help: 'API requests answered, by route and status code.',
    labelNames: ['route', 'status'],
  }),
  seconds: histogram({
    name: 'siem_api_request_duration_seconds',
    help: 'API request duration, by route.',
    labelNames: ['route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
  }),
};

function tlsOf(o: ApiOptions): { cert: Buffer; key: Buffer } | null {
  const { cert_file: cert, key_file: key } = o.tls;
  if (cert === null && key === null) return null;
  if (cert === null || key === null) {
    throw new SiemError('SIEM_ERR_CONFIG_INVALID', 'api.tls needs both cert_file and key_file (or neither)');
  }
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (cause) {
    throw new SiemError('SIEM_ERR_TLS_MATERIAL', `cannot read the API certificate or key (${cert}, ${key})`, {
      cause,
    });
  }
}

/**
 * The control and query API: health probes, Prometheus metrics, adapters, stats, events query and
 * histogram, live tail, OpenAPI at /docs. Every route declares who may call it (`config.access`, see
 * auth.ts); requests are authenticated first (onRequest), rate limited per key, then checked against
 * the route before any body is parsed (preParsing).
 *
 * Refuses to start (SIEM_ERR_CONFIG_INVALID) when api.host is not a loopback address and no key is
 * configured: without keys the API answers loopback clients only, and says so at start-up.
 */
export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { options } = opts;
  const logger = opts.logger.child({ component: 'api' });
  const keys = new ApiKeyStore({
    keys: options.keys,
    file: options.keys_file,
    reloadSeconds: options.keys_reload_seconds,
    logger,
  });
  if (keys.size === 0) {
    if (!isLoopbackHost(options.host)) {
      keys.close();
      throw new SiemError(
        'SIEM_ERR_CONFIG_INVALID',
        `api.host is ${options.host} but no API key is configured: without keys the API answers loopback clients ` +
          'only, so it may only listen on a loopback address. Create a key with `siem api-key` and put it in api.keys ' +
          '(or api.keys_file), or set api.host to 127.0.0.1.',
      );
    }
    logger.warn({ host: options.host }, 'no API keys configured: the API answers loopback clients only');
  } else {
    logger.info({ keys: keys.size }, 'API keys loaded');
  }
  const tls = tlsOf(options);
  collectProcessMetrics();

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds: per-request lines would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.body_limit_bytes,
    forceCloseConnections: true,
    return503OnClosing: true,
    ...(tls === null ? {} : { https: tls }),
    ajv: {
      // every bad parameter reported at once; unknown parameters are errors, not silently ignored
      customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true },
    },
  }) as unknown as FastifyInstance;

  const tail = new TailHub({
    queueEvents: options.tail.queue_events,
    batchEvents: options.tail.batch_events,
    maxBufferedBytes: options.tail.max_buffered_bytes,
    maxClients: options.tail.max_clients,
    logger,
  });
  const stats = new StatsSampler({
    sampleMs: options.stats.sample_ms,
    ...(opts.registry === undefined ? {} : { registry: opts.registry }),
    ...(opts.statSeries === undefined ? {} : { series: opts.statSeries }),
  });
  // A key removed (or stripped of the tail scope) gets 401/403 on its next request at once; a tail
  // opened before would keep streaming: close it when the keys change.
  keys.onReload(() => tail.revoke((p) => keys.revocation(p, 'tail')));
  const queries =
    opts.database === undefined || opts.database === null
      ? null
      : new EventQueries(opts.database.pool, opts.database.schema, options.query.timeout_ms);

  // --- authentication and access control (see auth.ts)
  app.decorateRequest('principal', null);
  app.decorateRequest('authProblem', null);
  app.decorateRequest('authDetail', null);
  const pageCheck = (req: FastifyRequest) => browserProblem(req, options.allowed_origins);
  app.addHook('onRequest', async (req) => identify(keys, req, pageCheck));
  app.addHook('preParsing', enforceAccess);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'not_found';
    requestMetrics.requests.inc({ route, status: String(reply.statusCode) });
    requestMetrics.seconds.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    const body = toHttpError(err);
    if (body.statusCode >= 500) req.log.error({ err, route: req.routeOptions.url }, 'request failed');
    if (body.statusCode === 401) reply.header('www-authenticate', 'Bearer');
    if (body.statusCode === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      statusCode: 404,
      code: 'SIEM_ERR_NOT_FOUND',
      message: `no route ${req.method} ${req.url.split('?')[0]}`,
    });
  });

  if (options.rate_limit.enabled) {
    await app.register(rateLimit, {
      max: options.rate_limit.max,
      timeWindow: options.rate_limit.window_seconds * 1000,
      // runs after identify(): per key when there is one, per client address otherwise
      keyGenerator: (req) => (req.principal !== null ? `key:${req.principal.id}` : `ip:${req.ip}`),
      // Intake routes are paced by the buffer instead (503 + Retry-After when it cannot take more):
      // a request limit would only refuse events a busy forwarder has every right to send.
      allowList: (req) => {
        const scope = req.routeOptions.config?.access?.scope;
        return scope === 'public' || scope === 'ingest';
      },
      errorResponseBuilder: (_req, ctx) =>
        new SiemError(
          'SIEM_ERR_RATE_LIMITED',
          `rate limit of ${ctx.max} requests per ${options.rate_limit.window_seconds} s exceeded; retry in ${ctx.after}`,
        ),
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'SIEM gateway API',
        version: 'v1',
        description:
          'Control (adapters), health, metrics, stats, events query and live tail. Authenticate with ' +
          '`Authorization: Bearer <token>` (tokens from `siem api-key`); scopes: read, tail, admin, ingest.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  const docsAccess: RouteAccess = options.open_docs ? { scope: 'public' } : { scope: 'any' };
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), access: docsAccess } as typeof route.config;
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });

  await app.register(websocket, { options: { maxPayload: 4096 } });
  app.addHook('onRoute', (route) => {
    // @fastify/websocket hides WebSocket routes from the OpenAPI document; the tail is part of the API.
    if (route.url === '/api/v1/tail' && route.schema !== undefined) route.schema.hide = false;
  });

  // --- health and metrics
  const probeAccess: RouteAccess = options.open_health ? { scope: 'public' } : { scope: 'any' };
  app.get(
    '/health/live',
    {
      config: { access: probeAccess },
      schema: { tags: ['health'], summary: 'Liveness.', response: { 200: healthSchema } },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/health/ready',
    {
      config: { access: probeAccess },
      schema: {
        tags: ['health'],
        summary: 'Readiness, with the state of each dependency (Kafka, database, buffer).',
        response: { 200: healthSchema, 503: healthSchema },
      },
    },
    async (_req, reply) => {
      const results = await Promise.all(
        opts.readiness.map(async (c) => {
          const t = performance.now();
          const latency = () => Math.round((performance.now() - t) * 10) / 10;
          try {
            return [c.name, { ...(await c.check()), latency_ms: latency() }] as const;
          } catch (err) {
            const detail = err instanceof Error ? err.message : String(err);
            return [c.name, { ok: false, detail, latency_ms: latency() }] as const;
          }
        }),
      );
      const ok = results.every(([, r]) => r.ok);
      reply.code(ok ? 200 : 503);
      return { status: ok ? 'ready' : 'not ready', checks: Object.fromEntries(results) };
    },
  );
  app.get(
    '/metrics',
    {
      config: { access: options.open_metrics ? { scope: 'public' } : { scope: 'any', tenantKeys: false } },
      schema: { tags: ['health'], summary: 'Prometheus metrics (text exposition format).' },
    },
    async (_req, reply) => {
      reply.header('content-type', metricsRegistry.contentType);
      return metricsRegistry.metrics();
    },
  );

  app.get(
    '/api/v1/stats',
    {
      config: { access: { scope: 'read', tenantKeys: false } },
      schema: {
        tags: ['stats'],
        summary:
          'Throughput over the last 1, 5 and 15 minutes per adapter and per stage, buffer utilisation, error rates.',
        description:
          'Counters are rates per second (null until the window has two samples); gauges are current values. ' +
          '`totals` holds, under the same paths, what each counter counted since the process started. ' +
          'Computed from samples of the metrics registry taken every stats.sample_ms.',
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async () => stats.snapshot(),
  );

  registerAdapterRoutes(app, opts.adapters ?? null);
  registerConsoleRoutes(app, opts.consoleDir === undefined ? locateConsole() : opts.consoleDir);
  registerStatusRoute(app, opts.status ?? null);
  registerEventRoutes(app, { queries, tail, options, tailRevocation: (p) => keys.revocation(p, 'tail') });

  app.addHook('onReady', async () => stats.start());
  app.addHook('onClose', async () => {
    stats.stop();
    tail.close();
    keys.close();
  });

  return {
    app,
    tail,
    stats,
    async listen() {
      return app.listen({ host: options.host, port: options.port });
    },
    async close() {
      await app.close();
    },
    publishStored(rows) {
      try {
        tail.publish(rows);
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'live tail publish failed');
      }
    },
  };
}
