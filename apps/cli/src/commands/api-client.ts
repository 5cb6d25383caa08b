import type { RootConfig } from '@siem/runtime';
import { UnreachableError, UsageError } from './cli-support.js';

/** Where the API answers and how to authenticate, from --api / --api-key or the configuration. */
export interface ApiTarget {
  base: string;
  key: string | null;
}

function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** The API base URL: --api when given (checked), else api.host/api.port/api.tls of the configuration. */
export function apiTarget(api: string | undefined, key: string | undefined, config: RootConfig): ApiTarget {
  let base: string;
  if (api !== undefined) {
    let u: URL;
    try {
      u = new URL(api);
    } catch {
      throw new UsageError(`--api ${api}: not a URL (e.g. http://127.0.0.1:8080)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new UsageError(`--api ${api}: must be an http:// or https:// URL`);
    base = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } else {
    const scheme = config.api.tls.cert_file !== null ? 'https' : 'http';
    const host = connectHost(config.api.host);
    base = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${config.api.port}`;
  }
  if (key !== undefined && key.trim() === '') throw new UsageError('--api-key is empty');
  return { base, key: key ?? null };
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  ms: number;
}

/** Why a request did not get an answer, in a few words (ECONNREFUSED, timeout, …). */
function reasonOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as { name?: string }).name === 'TimeoutError') return 'no answer in time';
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** A thin client of the control API: JSON answers; no answer at all is an UnreachableError. */
export class ApiClient {
  readonly target: ApiTarget;
  readonly #timeoutMs: number;

  constructor(target: ApiTarget, timeoutMs = 5_000) {
    this.target = target;
    this.#timeoutMs = timeoutMs;
  }

  /** The key when there is one; `x-siem-client` tells a keyless API this is no web page (browser-guard). */
  headers(): Record<string, string> {
    const client = { 'x-siem-client': 'siem-cli' };
    return this.target.key === null ? client : { ...client, authorization: `Bearer ${this.target.key}` };
  }

  async get<T = unknown>(path: string): Promise<ApiAnswer<T>> {
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(`${this.target.base}${path}`, {
        headers: this.headers(),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new UnreachableError(
        `cannot reach the API at ${this.target.base} (${reasonOf(err)}); is siem serve running? (--api URL)`,
      );
    }
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        /* keep the text */
      }
    }
    return { status: res.status, body: body as T, ms: performance.now() - started };
  }
}

/** The reason an error answer gives (`{code, message}` bodies), or its status line. */
export function answerReason(a: ApiAnswer<unknown>): string {
  const b = a.body as { message?: unknown; code?: unknown } | null;
  if (typeof b === 'object' && b !== null && typeof b.message === 'string') {
    return `${a.status} ${typeof b.code === 'string' ? `${b.code}: ` : ''}${b.message}`;
  }
  if (a.status === 401) return '401: an API key is needed (--api-key)';
  return `HTTP ${a.status}`;
}
