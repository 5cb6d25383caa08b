import {
  type ApiDatabase,
  type ApiOptions,
  type ApiServer,
  apiOptionsSchema,
  createApiServer,
} from '@siem/api';
import { checkAgainst } from '@siem/config';
import { silentLogger } from '@siem/observability';

/**
 * A keyless API server on a free loopback port serving the built console, with the default options
 * but no rate limit (the benchmarks' one client asks often), reading `database` when given, with the
 * benchmark's own `routes` added before it listens.
 */
export async function startBenchApi(
  database: ApiDatabase | null = null,
  routes: (app: ApiServer['app']) => void = () => {},
): Promise<{ server: ApiServer; base: string }> {
  const options: Record<string, unknown> = { port: 0, rate_limit: { enabled: false } };
  const problems = checkAgainst(apiOptionsSchema, options);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  const server = await createApiServer({
    options: options as ApiOptions,
    logger: silentLogger,
    readiness: [],
    database,
  });
  routes(server.app);
  return { server, base: await server.listen() };
}
