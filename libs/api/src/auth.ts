import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { checkAgainst, formatProblems, readConfigFile, Type } from '@siem/config';
import { type LoggerLike, SiemError } from '@siem/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ApiKeyEntry, type ApiScope, apiKeySchema, apiScopes } from './options.js';

/**
 * API keys.
 *
 * A token is `siem_` + 32 random bytes (base64url): 256 bits of entropy. The configuration holds only
 * its SHA-256 (`sha256:<hex>`). A fast hash is the right one here: a password hash (scrypt, argon2)
 * slows down guessing a low-entropy secret, but nobody can enumerate 2^256 tokens, and a per-request
 * check must stay cheap. The presented token's digest is compared with every configured digest with
 * crypto.timingSafeEqual, without stopping at a match, so the time taken does not say which key (or how
 * much of one) matched.
 */
export interface Principal {
  /** The key's id; `loopback` for the keyless loopback mode. */
  id: string;
  scopes: ReadonlySet<ApiScope>;
  /** The only tenant this key may read; null: any tenant. */
  tenant: string | null;
}

export const TOKEN_PREFIX = 'siem_';

/** Why a key accepted earlier is no longer accepted for a scope (see ApiKeyStore.revocation). */
export type KeyRevocation = 'key_removed' | 'scope_removed' | 'tenant_changed' | 'keys_required';

export function generateApiKey(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** The principal of the keyless mode: loopback clients may do everything. */
export const LOOPBACK_PRINCIPAL: Principal = Object.freeze({
  id: 'loopback',
  scopes: new Set(apiScopes),
  tenant: null,
});

interface StoredKey {
  digest: Buffer;
  principal: Principal;
}

/** The digest each principal was authenticated with: a key replaced under the same id is another key. */
const digestOf = new WeakMap<Principal, Buffer>();

function toStored(k: ApiKeyEntry): StoredKey {
  const digest = Buffer.from(k.hash.slice('sha256:'.length), 'hex');
  const principal = Object.freeze({ id: k.id, scopes: new Set(k.scopes), tenant: k.tenant ?? null });
  digestOf.set(principal, digest);
  return { digest, principal };
}

const keyListSchema = Type.Array(apiKeySchema);

/** Reads a keys file: a YAML/JSON list of keys, or a mapping with a `keys` list. */
export function readKeysFile(file: string): ApiKeyEntry[] {
  const doc = readConfigFile(file);
  const list = Array.isArray(doc) ? doc : (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `API keys file ${file} must hold a list of keys (or keys: [...])`,
    );
  }
  const copy = structuredClone(list);
  const problems = checkAgainst(keyListSchema, copy);
  if (problems.length > 0) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `API keys file ${file} is invalid:\n${formatProblems(problems)}`,
      {
        details: problems,
      },
    );
  }
  return copy as ApiKeyEntry[];
}

function checkUnique(keys: readonly ApiKeyEntry[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.id))
      throw new SiemError('SIEM_ERR_CONFIG_INVALID', `API key id ${k.id} is configured twice`);
    seen.add(k.id);
  }
}

/**
 * The configured keys (api.keys plus api.keys_file). The file is checked for changes every
 * `reloadSeconds` (a Kubernetes secret update replaces it); a file that no longer reads or validates
 * keeps the previous keys and logs why.
 */
export class ApiKeyStore {
  #keys: StoredKey[] = [];
  readonly #inline: readonly ApiKeyEntry[];
  readonly #file: string | null;
  readonly #logger: LoggerLike;
  #fileStamp = '';
  #timer: NodeJS.Timeout | null = null;
  readonly #reloaded = new Set<() => void>();

  constructor(o: {
    keys: readonly ApiKeyEntry[];
    file: string | null;
    reloadSeconds: number;
    logger: LoggerLike;
  }) {
    this.#inline = o.keys;
    this.#file = o.file;
    this.#logger = o.logger;
    this.#load(true);
    if (this.#file !== null && o.reloadSeconds > 0) {
      this.#timer = setInterval(() => this.#reloadIfChanged(), o.reloadSeconds * 1000);
      this.#timer.unref();
    }
  }

  /** Number of keys; 0 means the keyless loopback-only mode. */
  get size(): number {
    return this.#keys.length;
  }

  /** The principal of a token, or null. Every stored digest is compared, in constant time each. */
  authenticate(token: string): Principal | null {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: Principal | null = null;
    for (const k of this.#keys) {
      const same = timingSafeEqual(k.digest, digest);
      if (same && found === null) found = k.principal;
    }
    return found;
  }

  /**
   * Why a principal authenticated earlier may no longer use `scope`, or null while it still may, as a
   * new request would be judged now: its key (same id and same digest) is still configured, still holds
   * the scope and is bound to the same tenant; the keyless loopback principal only while no key exists.
   */
  revocation(principal: Principal, scope: ApiScope): KeyRevocation | null {
    if (principal === LOOPBACK_PRINCIPAL) return this.#keys.length === 0 ? null : 'keys_required';
    const digest = digestOf.get(principal);
    const now = this.#keys.find(
      (k) => k.principal.id === principal.id && digest !== undefined && k.digest.equals(digest),
    );
    if (now === undefined) return 'key_removed';
    if (!now.principal.scopes.has(scope)) return 'scope_removed';
    if (now.principal.tenant !== principal.tenant) return 'tenant_changed';
    return null;
  }

  /** Calls `listener` after each reload that changed the keys; returns the unsubscribe. */
  onReload(listener: () => void): () => void {
    this.#reloaded.add(listener);
    return () => this.#reloaded.delete(listener);
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#reloaded.clear();
  }

  #stamp(): string {
    if (this.#file === null) return '';
    try {
      const s = statSync(this.#file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }

  #load(initial: boolean): void {
    const stamp = this.#stamp();
    const fromFile = this.#file === null ? [] : readKeysFile(this.#file);
    const all = [...this.#inline, ...fromFile];
    checkUnique(all);
    this.#keys = all.map(toStored);
    this.#fileStamp = stamp;
    if (initial) return;
    this.#logger.info({ keys: all.length, file: this.#file }, 'API keys reloaded');
    for (const listener of this.#reloaded) {
      try {
        listener();
      } catch (err) {
        this.#logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'API keys listener failed',
        );
      }
    }
  }

  #reloadIfChanged(): void {
    if (this.#stamp() === this.#fileStamp) return;
    try {
      this.#load(false);
    } catch (err) {
      this.#fileStamp = this.#stamp(); // log once per change, not every interval
      this.#logger.error(
        { file: this.#file, err: err instanceof Error ? err.message : String(err) },
        'API keys file changed but cannot be used; keeping the previous keys',
      );
    }
  }
}

// ---------------------------------------------------------------- access control on routes

/**
 * Who may call a route, set in its `config.access`:
 * - `public`: anybody (the health probes and /metrics when configured open);
 * - `any`: any valid key;
 * - a scope: a key holding it.
 * `tenantKeys: false` refuses keys bound to a tenant (operational data spans every tenant).
 * A route without `config.access` requires `admin` and refuses tenant-bound keys: forgetting to
 * declare access fails closed.
 */
export interface RouteAccess {
  scope: ApiScope | 'any' | 'public';
  tenantKeys?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The authenticated key (null when none, or not yet known). */
    principal: Principal | null;
    /**
     * Why no principal: no credentials, bad credentials, a non-loopback client in keyless mode, or a
     * loopback request that looks like a web page's (`cross_site`, with `authDetail` saying why).
     */
    authProblem: 'missing' | 'invalid' | 'not_loopback' | 'cross_site' | null;
    authDetail: string | null;
  }
}

export const DEFAULT_ACCESS: RouteAccess = { scope: 'admin', tenantKeys: false };

/** `{ access }` for a route's `config`, for routes other libraries register on this server. */
export function routeAccess(
  scope: RouteAccess['scope'],
  options: { tenantKeys?: boolean } = {},
): { access: RouteAccess } {
  return { access: { scope, tenantKeys: options.tenantKeys ?? true } };
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopback(host);
}

/**
 * The subprotocol a browser offers to carry its key on a WebSocket upgrade (`siem.bearer.<token>`):
 * a page cannot set an Authorization header on `new WebSocket()`. The page offers another protocol
 * first (`siem.tail`), which the server picks (ws chooses the first offered), so the token is never
 * echoed back.
 */
export const WS_TOKEN_PROTOCOL_PREFIX = 'siem.bearer.';

function webSocketToken(request: FastifyRequest): string | undefined {
  const offered = request.headers['sec-websocket-protocol'];
  if (offered === undefined || request.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  for (const p of String(offered).split(',')) {
    const v = p.trim();
    if (v.startsWith(WS_TOKEN_PROTOCOL_PREFIX)) return v.slice(WS_TOKEN_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * Step 1 (onRequest): who is calling. Never answers by itself, so rate limiting sees every attempt.
 * In keyless mode a loopback request that looks like a web page's (see browser-guard.ts) gets no
 * principal.
 */
export function identify(
  store: ApiKeyStore,
  request: FastifyRequest,
  pageCheck: (request: FastifyRequest) => string | null = () => null,
): void {
  if (store.size === 0) {
    if (!isLoopback(request.socket.remoteAddress)) {
      request.authProblem = 'not_loopback';
      return;
    }
    const problem = pageCheck(request);
    if (problem === null) request.principal = LOOPBACK_PRINCIPAL;
    else {
      request.authProblem = 'cross_site';
      request.authDetail = problem;
    }
    return;
  }
  const header = request.headers.authorization;
  const token = header === undefined ? webSocketToken(request) : /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1];
  if (header === undefined && token === undefined) {
    request.authProblem = 'missing';
    return;
  }
  const principal = token === undefined ? null : store.authenticate(token);
  if (principal === null) request.authProblem = 'invalid';
  else request.principal = principal;
}

/** Throws unless the request's principal may use a route with this access. */
export function checkAccess(request: FastifyRequest, access: RouteAccess): void {
  if (access.scope === 'public') return;
  const p = request.principal;
  if (p === null) {
    if (request.authProblem === 'cross_site') {
      throw new SiemError('SIEM_ERR_FORBIDDEN', request.authDetail ?? 'cross-site request refused');
    }
    if (request.authProblem === 'not_loopback') {
      throw new SiemError(
        'SIEM_ERR_FORBIDDEN',
        'no API keys are configured: this API answers loopback clients only (configure api.keys)',
      );
    }
    throw new SiemError(
      'SIEM_ERR_AUTH',
      request.authProblem === 'invalid'
        ? 'the bearer token is not a valid API key'
        : 'an API key is required: Authorization: Bearer <token>',
    );
  }
  if (access.scope !== 'any' && !p.scopes.has(access.scope)) {
    throw new SiemError(
      'SIEM_ERR_FORBIDDEN',
      `this endpoint needs the ${access.scope} scope; key ${p.id} lacks it`,
    );
  }
  if (p.tenant !== null && access.tenantKeys === false) {
    throw new SiemError(
      'SIEM_ERR_FORBIDDEN',
      `key ${p.id} is bound to a tenant and this endpoint shows data of every tenant`,
    );
  }
}

/** Step 2 (preParsing, app-wide): enforces each route's `config.access` before any body is read. */
export async function enforceAccess(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  checkAccess(request, request.routeOptions.config?.access ?? DEFAULT_ACCESS);
}

/**
 * A preHandler requiring a scope, for a route that prefers an explicit hook to `config.access` (the
 * route's own access still applies first).
 */
export function requireScope(scope: ApiScope, options: { tenantKeys?: boolean } = {}) {
  return async (request: FastifyRequest): Promise<void> => {
    checkAccess(request, { scope, tenantKeys: options.tenantKeys ?? true });
  };
}

/**
 * The tenants a request may read: the key's own tenant when it is bound to one (asking for another is
 * refused), else the tenants the request names, else null (every tenant).
 */
export function readableTenants(principal: Principal, requested: readonly string[] | null): string[] | null {
  if (principal.tenant !== null) {
    const others = (requested ?? []).filter((t) => t !== principal.tenant);
    if (others.length > 0) {
      throw new SiemError(
        'SIEM_ERR_FORBIDDEN',
        `key ${principal.id} is bound to tenant ${principal.tenant} and cannot read tenant ${others[0]}`,
      );
    }
    return [principal.tenant];
  }
  return requested === null ? null : [...new Set(requested)];
}
