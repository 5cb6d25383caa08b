import type { FastifyInstance } from 'fastify';
import { errorResponses, errorSchema } from './schemas.js';

/** What a process says of itself on GET /api/v1/status. */
export interface ProcessInfo {
  version: string;
  /** gateway | normalizer | all */
  role: string;
  hostname: string;
  pid: number;
  node: string;
  started_at: string;
}

/** Where GET /api/v1/status gets its answer (wired by the runtime). */
export interface StatusSource {
  process: ProcessInfo;
  /** The validated configuration, secrets already masked (redactSecrets). */
  config: Readonly<Record<string, unknown>>;
  /** The storage tiers (what `siem tiers status` shows); null where the role stores nothing. */
  tiers: (() => Promise<unknown>) | null;
  /** Defaults TIERS_TIMEOUT_MS and TIERS_CACHE_MS. */
  tiersTimeoutMs?: number;
  tiersCacheMs?: number;
}

/** A tier status slower than this answers `timeout` instead (the rest of the page is not held up). */
export const TIERS_TIMEOUT_MS = 10_000;
/** Tier status is read at most this often, whatever the number of callers (it lists every chunk). */
export const TIERS_CACHE_MS = 15_000;

type TiersAnswer =
  | { state: 'ok'; read_at: string; status: unknown }
  | { state: 'error' | 'timeout'; read_at: string; detail: string }
  | { state: 'none'; detail: string };

const statusSchema = {
  type: 'object',
  properties: {
    version: { type: 'string' },
    role: { type: 'string' },
    hostname: { type: 'string' },
    pid: { type: 'integer' },
    node: { type: 'string' },
    started_at: { type: 'string' },
    uptime_seconds: { type: 'number' },
    config: {
      type: 'object',
      additionalProperties: true,
      description: 'The configuration; secrets as "***".',
    },
    tiers: {
      type: 'object',
      additionalProperties: true,
      description:
        '`state` ok (with `status`, as `siem tiers status --json` prints it), error, timeout, or none (the role ' +
        'stores nothing); `read_at` says when it was read (cached for a few seconds).',
    },
  },
  required: ['version', 'role', 'config', 'tiers'],
} as const;

/**
 * GET /api/v1/status: version, role, the configuration with secrets masked, and the storage tiers.
 * Admin scope and no tenant-bound key: the configuration describes the whole deployment. The tier
 * status lists every chunk, so it is read by one query at a time and kept for TIERS_CACHE_MS whatever
 * the number of callers, and an answer slower than TIERS_TIMEOUT_MS is reported as such instead of
 * holding the request (the read goes on, alone).
 */
export function registerStatusRoute(app: FastifyInstance, source: StatusSource | null): void {
  // One read at a time: a slow one is never joined by another (each would hold a query connection);
  // its answer is kept for cacheMs once it has come.
  let inflight: Promise<TiersAnswer> | null = null;
  let last: { at: number; answer: TiersAnswer } | null = null;
  const timeoutMs = source?.tiersTimeoutMs ?? TIERS_TIMEOUT_MS;
  const cacheMs = source?.tiersCacheMs ?? TIERS_CACHE_MS;
  const readTiers = (): Promise<TiersAnswer> => {
    const tiers = source?.tiers ?? null;
    if (tiers === null) return Promise.resolve({ state: 'none', detail: 'this role stores no events' });
    if (last !== null && Date.now() - last.at < cacheMs) return Promise.resolve(last.answer);
    if (inflight === null) {
      const read_at = new Date().toISOString();
      inflight = tiers()
        .then(
          (status): TiersAnswer => ({ state: 'ok', read_at, status }),
          (err: unknown): TiersAnswer => ({
            state: 'error',
            read_at,
            detail: err instanceof Error ? err.message : String(err),
          }),
        )
        .then((answer) => {
          last = { at: Date.now(), answer };
          inflight = null;
          return answer;
        });
    }
    const pending = inflight;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race<TiersAnswer>([
      pending,
      new Promise<TiersAnswer>((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              state: 'timeout',
              read_at: new Date().toISOString(),
              detail: `no answer within ${timeoutMs / 1000} s (the read goes on; the next request may have it)`,
            }),
          timeoutMs,
        );
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  };

  app.get(
    '/api/v1/status',
    {
      config: { access: { scope: 'admin', tenantKeys: false } },
      schema: {
        tags: ['status'],
        summary: 'Version, role, configuration (secrets masked) and storage tier status of this process.',
        response: { 200: statusSchema, ...errorResponses, 503: errorSchema },
      },
    },
    async (_req, reply) => {
      if (source === null) {
        reply.code(503);
        return {
          statusCode: 503,
          code: 'SIEM_ERR_UNAVAILABLE',
          message: 'no status source is wired to this API',
        };
      }
      return {
        ...source.process,
        uptime_seconds: Math.round(process.uptime()),
        config: source.config,
        tiers: await readTiers(),
      };
    },
  );
}
