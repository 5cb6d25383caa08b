import type { HealthStatus } from '@siem/core';
import { type Logger, metricsRegistry } from '@siem/observability';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { ApiOptions } from './options.js';

export interface ReadinessCheck {
  /** Dependency name in the answer: `kafka`, `database`, `buffer`, … */
  name: string;
  check(): Promise<HealthStatus>;
}

export interface ApiServerOptions {
  options: ApiOptions;
  logger: Logger;
  readiness: readonly ReadinessCheck[];
}

const healthSchema = {
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string' },
        checks: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: { ok: { type: 'boolean' }, detail: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

/** The HTTP server: health probes and metrics now; the control and query API registers onto it. */
export async function createApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds: per-request lines would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get('/health/live', { schema: healthSchema }, async () => ({ status: 'ok' }));

  app.get(
    '/health/ready',
    { schema: { response: { 200: healthSchema.response[200], 503: healthSchema.response[200] } } },
    async (_req, reply) => {
      const results = await Promise.all(
        opts.readiness.map(async (c) => {
          try {
            return [c.name, await c.check()] as const;
          } catch (err) {
            return [c.name, { ok: false, detail: err instanceof Error ? err.message : String(err) }] as const;
          }
        }),
      );
      const checks = Object.fromEntries(results);
      const ok = results.every(([, r]) => r.ok);
      reply.code(ok ? 200 : 503);
      return { status: ok ? 'ready' : 'not ready', checks };
    },
  );

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });

  return app;
}
