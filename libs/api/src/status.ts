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
 * status lists every chunk, so it is read once per TIERS_CACHE_MS whatever the number of callers,
 * and an answer slower than TIERS_TIMEOUT_MS is reported as such instead of holding the request.
 */
export function registerStatusRoute(app: FastifyInstance, source: StatusSource | null): void {
  let cached: { at: number; answer: Promise<TiersAnswer> } | null = null;
  const timeoutMs = source?.tiersTimeoutMs ?? TIERS_TIMEOUT_MS;
  const cacheMs = source?.tiersCacheMs ?? TIERS_CACHE_MS;
  const readTiers = (): Promise<TiersAnswer> => {
    const tiers = source?.tiers ?? null;
    if (tiers === null) return Promise.resolve({ state: 'none', detail: 'this role stores no events' });
    if (cached !== null && Date.now() - cached.at < cacheMs) return cached.answer;
    const read_at = new Date().toISOString();
    let timer: NodeJS.Timeout | undefined;
    const answer = Promise.race<TiersAnswer>([
      tiers().then(
        (status) => ({ state: 'ok', read_at, status }),
        (err: unknown) => ({
          state: 'error',
          read_at,
          detail: err instanceof Error ? err.message : String(err),
        }),
      ),
      new Promise<TiersAnswer>((resolve) => {
        timer = setTimeout(
          () => resolve({ state: 'timeout', read_at, detail: `no answer within ${timeoutMs / 1000} s` }),
          timeoutMs,
        );
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
    cached = { at: Date.now(), answer };
    return answer;
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
