import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Principal } from './auth.js';
import { errorResponses } from './schemas.js';

/**
 * The web console (apps/console): static files built by `npm run build` into the console package's
 * dist/www, served at /console/ by this server so that nothing else need be deployed. The files hold
 * no data (every number on a page comes from the API with the caller's key), so they answer without a
 * key; the API calls they make are checked like any other client's.
 *
 * The API library does not import the console: it only looks its files up by package name at start-up
 * (`locateConsole`), or takes the folder it is given. A missing build answers 503 saying how to build
 * it; the API itself keeps working.
 */
export const CONSOLE_PATH = '/console/';

/**
 * Same origin only: scripts and styles from the bundle (no inline script, no eval), API calls and the
 * tail WebSocket to this server, no framing (clickjacking), no plug-ins, forms post nowhere else.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files named `<name>-<8+ hash chars>.<ext>` (esbuild's [name]-[hash]) never change: cache them for good. */
const HASHED = /-[A-Z0-9]{8,}\.[a-z]+$/;

/** The console package's built files (`<package>/dist/www`), or null when the package is not installed. */
export function locateConsole(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('@siem/console/package.json');
    return join(dirname(pkg), 'dist', 'www');
  } catch {
    return null;
  }
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
}

/** The file under `dir` that `rel` names, or null when it is outside it or not a file. */
async function fileUnder(dir: string, rel: string): Promise<string | null> {
  const path = normalize(join(dir, rel));
  if (path !== dir && !path.startsWith(dir + sep)) return null;
  try {
    return (await stat(path)).isFile() ? path : null;
  } catch {
    return null;
  }
}

const principalSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The key id; `loopback` in keyless mode.' },
    scopes: { type: 'array', items: { type: 'string' } },
    tenant: { type: ['string', 'null'] },
    keyless: {
      type: 'boolean',
      description: 'No API key is configured (loopback clients hold every scope).',
    },
  },
  required: ['id', 'scopes', 'tenant', 'keyless'],
} as const;

/**
 * GET /api/v1/whoami (any valid key) and the console's static files under /console/ (public; `/`
 * redirects there). `dir` null: no console installed (503 with how to build it).
 */
export function registerConsoleRoutes(app: FastifyInstance, dir: string | null): void {
  app.get(
    '/api/v1/whoami',
    {
      config: { access: { scope: 'any' } },
      schema: {
        tags: ['console'],
        summary: 'The caller: key id, scopes and tenant (the console shows which pages the key may use).',
        response: { 200: principalSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = req.principal as Principal;
      return { id: p.id, scopes: [...p.scopes].sort(), tenant: p.tenant, keyless: p.id === 'loopback' };
    },
  );

  const root = dir === null ? null : normalize(dir);
  const serve = async (rel: string, reply: FastifyReply) => {
    securityHeaders(reply);
    const wanted = rel === '' ? 'index.html' : rel;
    const file = root === null ? null : await fileUnder(root, wanted);
    if (file === null) {
      const index = root === null ? null : await fileUnder(root, 'index.html');
      if (index === null) {
        reply.code(503).header('cache-control', 'no-store');
        return {
          statusCode: 503,
          code: 'SIEM_ERR_UNAVAILABLE',
          message:
            root === null
              ? 'the web console is not installed (package @siem/console)'
              : `the web console is not built (no ${join(root, 'index.html')}): run \`npm run build\``,
        };
      }
      reply.code(404).header('cache-control', 'no-store');
      return { statusCode: 404, code: 'SIEM_ERR_NOT_FOUND', message: `no console file ${wanted}` };
    }
    reply.header('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    // the page itself is revalidated every time so that a new build's hashed files are picked up
    reply.header('cache-control', HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
    return readFile(file);
  };

  const access = { access: { scope: 'public' as const } };
  const schema = { hide: true };
  app.get('/', { config: access, schema }, async (_req, reply) => reply.redirect(CONSOLE_PATH, 302));
  app.get('/console', { config: access, schema }, async (_req, reply) => reply.redirect(CONSOLE_PATH, 301));
  app.get<{ Params: { '*': string } }>('/console/*', { config: access, schema }, async (req, reply) =>
    serve(req.params['*'], reply),
  );
}
