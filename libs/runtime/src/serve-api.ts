import {
  type AdapterControl,
  type ApiDatabase,
  type ApiServer,
  createApiServer,
  errorSchema,
  type ReadinessCheck,
  routeAccess,
} from '@siem/api';
import type { Logger } from '@siem/observability';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RootConfig } from './config-schema.js';
import type { Lifecycle } from './lifecycle.js';

export type { AdapterControl, ApiDatabase, ApiServer, ReadinessCheck } from '@siem/api';
// for `siem api-key` (the CLI reaches the API library through the runtime)
export { generateApiKey, hashApiKey } from '@siem/api';

/**
 * What the API server hands the route plugins of other libraries (the cloud intake), so that they
 * need not import libs/api: the route config its access check reads, its error body, and the tenant
 * a request's API key is bound to.
 */
export interface ApiRouteHost {
  access: typeof routeAccess;
  errorSchema: typeof errorSchema;
  tenantOf(request: FastifyRequest): string | null;
}

const routeHost: ApiRouteHost = {
  access: routeAccess,
  errorSchema,
  tenantOf: (request) => request.principal?.tenant ?? null,
};

/** What a role hands its API server. */
export interface ApiDependencies {
  /** Readiness checks of the role: kafka, database, buffer. */
  readiness: readonly ReadinessCheck[];
  /** The role's AdapterRegistry; null/absent in roles without adapters (normalizer). */
  adapters?: AdapterControl | null;
  /** The events database (pool + storage.schema); null/absent where nothing is stored (gateway). */
  database?: ApiDatabase | null;
  /** Route plugins of other libraries (e.g. the cloud intake), registered before the server listens. */
  plugins?: ReadonlyArray<(app: FastifyInstance, host: ApiRouteHost) => Promise<void> | void>;
}

/**
 * Starts the API server of a role (when enabled), logs where it listens and registers its shutdown.
 * The returned server's `publishStored` feeds the live tail (wire NormalizingSink's onStored to it).
 * (A bare array of readiness checks is still accepted, for roles not yet wired with the rest.)
 */
export async function serveApi(
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
  deps: ApiDependencies | readonly ReadinessCheck[],
): Promise<ApiServer | null> {
  if (!config.api.enabled) return null;
  const d: ApiDependencies = Array.isArray(deps) ? { readiness: deps } : (deps as ApiDependencies);
  const api = await createApiServer({
    options: config.api,
    logger,
    readiness: d.readiness,
    adapters: d.adapters ?? null,
    database: d.database ?? null,
  });
  lifecycle.add('api', () => api.close());
  for (const plugin of d.plugins ?? []) await plugin(api.app, routeHost);
  const address = await api.listen();
  logger.info(
    { api: address, keys: config.api.keys.length > 0 || config.api.keys_file !== null },
    'API listening',
  );
  return api;
}
