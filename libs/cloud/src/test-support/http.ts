import { request as httpRequest } from 'node:http';
import {
  type ApiOptions,
  type ApiServer,
  apiOptionsSchema,
  createApiServer,
  errorSchema,
  generateApiKey,
  hashApiKey,
  routeAccess,
} from '@siem/api';
import { checkAgainst } from '@siem/config';
import { silentLogger } from '@siem/observability';
import type { CloudHttpIntake } from '../intake.js';
import type { IngestRouteHost } from '../routes.js';

/** POSTs of the cloud intake tests over node:http, to a real API server on 127.0.0.1. */

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One POST over node:http (it reads the answer even when the server closes after it). */
export function post(
  url: string,
  body: Buffer | string,
  o: { token?: string; type?: string | null; encoding?: string; chunked?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.type !== null) headers['content-type'] = o.type ?? 'application/json';
  if (o.encoding !== undefined) headers['content-encoding'] = o.encoding;
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  if (o.chunked !== true) headers['content-length'] = String(data.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', reject);
    if (o.chunked !== true) {
      req.end(data);
      return;
    }
    for (let i = 0; i < data.length; i += 8192) req.write(data.subarray(i, i + 8192)); // no Content-Length
    req.end();
  });
}

/** An API key of the tests: the bearer token and its entry in the API options. */
export function key(id: string, scopes: ('read' | 'ingest')[], tenant: string | null = null) {
  const token = generateApiKey();
  return { token, entry: { id, hash: hashApiKey(token), scopes, tenant } };
}

/** What the API server hands the route, as the runtime's serveApi does (the tests start it themselves). */
export const apiRouteHost: IngestRouteHost = {
  access: routeAccess,
  errorSchema,
  tenantOf: (request) => request.principal?.tenant ?? null,
};

/** A real API server on 127.0.0.1 (port 0) with the intake's route; `base` is the ingest URL. */
export async function ingestApi(
  hub: CloudHttpIntake,
  keys: ReturnType<typeof key>['entry'][],
  more: Record<string, unknown> = {},
): Promise<{ api: ApiServer; base: string }> {
  const options = structuredClone({ port: 0, keys, rate_limit: { max: 10_000 }, ...more });
  const problems = checkAgainst(apiOptionsSchema, options);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  const api = await createApiServer({
    options: options as unknown as ApiOptions,
    logger: silentLogger,
    readiness: [],
  });
  await hub.plugin(api.app, apiRouteHost);
  return { api, base: `${await api.listen()}/api/v1/ingest` };
}
