import { createApiServer, type ReadinessCheck } from '@siem/api';
import type { Logger } from '@siem/observability';
import type { FastifyInstance } from 'fastify';
import type { RootConfig } from './config-schema.js';
import type { Lifecycle } from './lifecycle.js';

/** Starts the API server of a role (when enabled), logs where it listens and registers its shutdown. */
export async function serveApi(
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
  readiness: readonly ReadinessCheck[],
): Promise<FastifyInstance | null> {
  if (!config.api.enabled) return null;
  const api = await createApiServer({ options: config.api, logger, readiness });
  const address = await api.listen({ host: config.api.host, port: config.api.port });
  logger.info({ api: address }, 'API listening');
  lifecycle.add('api', () => api.close());
  return api;
}
