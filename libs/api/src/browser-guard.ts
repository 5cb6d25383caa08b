import type { FastifyRequest } from 'fastify';
import { isLoopbackHost } from './auth.js';

/**
 * What keeps a web page from using the keyless loopback mode, where every loopback client holds every
 * scope. A page the operator visits runs in a browser on the same machine, so its requests come from
 * loopback too; three checks tell them apart from curl, the CLI and the console:
 * - Host must be a loopback name (localhost, 127.x, [::1]): a DNS-rebound name (rebind.evil.example
 *   resolving to 127.0.0.1) is refused, so a page cannot read answers through its own origin;
 * - an Origin header, when sent, must be a loopback origin or one of api.allowed_origins: browsers send
 *   it on cross-site requests and on every WebSocket upgrade, so a cross-site tail or POST is refused;
 * - a state-changing method needs `X-SIEM-Client: <anything>` or a non-form Content-Type (JSON): a
 *   page can send neither cross-site without a CORS preflight, which this API never grants.
 * With API keys configured none of this applies: a page cannot present a bearer token it does not have.
 */
export const CLIENT_HEADER = 'x-siem-client';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The Content-Types a page may send cross-site without a preflight (CORS-safelisted). */
const SIMPLE_CONTENT_TYPE =
  /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\s*(;|$)/i;

/** host of a Host header value (`[::1]:8080` → `::1`, `localhost:8080` → `localhost`). */
export function hostOf(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) return v.slice(1, v.indexOf(']') > 0 ? v.indexOf(']') : undefined);
  const colon = v.lastIndexOf(':');
  return colon > 0 && v.indexOf(':') === colon ? v.slice(0, colon) : v;
}

function loopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackHost(hostOf(u.host));
  } catch {
    return false;
  }
}

/** Why a keyless loopback request looks like a web page's, or null. */
export function browserProblem(request: FastifyRequest, allowedOrigins: readonly string[]): string | null {
  const host = request.headers.host;
  if (host === undefined || !isLoopbackHost(hostOf(host))) {
    return `keyless mode answers loopback host names only, not Host ${JSON.stringify(host ?? '')} (configure api.keys to serve other names)`;
  }
  const origin = request.headers.origin;
  if (
    origin !== undefined &&
    origin !== 'null' &&
    !loopbackOrigin(origin) &&
    !allowedOrigins.includes(origin)
  ) {
    return `cross-site request from origin ${origin} refused (keyless mode; api.allowed_origins lists others)`;
  }
  if (origin === 'null')
    return 'request from an opaque origin (sandboxed page or file) refused in keyless mode';
  if (!SAFE_METHODS.has(request.method)) {
    const type = request.headers['content-type'];
    const simple = type === undefined || SIMPLE_CONTENT_TYPE.test(type);
    if (simple && request.headers[CLIENT_HEADER] === undefined) {
      return `${request.method} without the ${CLIENT_HEADER} header or a JSON body refused in keyless mode (cross-site request guard)`;
    }
  }
  return null;
}
