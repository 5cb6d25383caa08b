import type { LoggerLike } from '@siem/core';
import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  url: string;
  /** Connections (storage.pool_size). */
  size?: number;
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Idle connections close after this long (0: never). */
  idleTimeoutMs?: number;
  logger?: LoggerLike;
}

/**
 * A pg connection pool. Idle connections that die with the server (restart, failover) emit 'error' on
 * the pool; that is expected and only logged — an unhandled 'error' event would end the process.
 */
export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.size ?? 8,
    application_name: options.applicationName ?? 'siem',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    keepAlive: true,
  });
  pool.on('error', (err) => {
    options.logger?.warn({ err: err.message }, 'idle database connection lost');
  });
  return pool;
}

/**
 * Takes a connection from the pool for a while. A checked-out connection that dies (database stopped
 * mid-COPY) emits 'error' on the client, and pg's pool only listens on idle ones: without a listener
 * here that error would end the process. The failed statement still rejects on its own.
 */
export async function checkout(pool: Pool): Promise<PoolClient & { broken: Error | null }> {
  const client = (await pool.connect()) as PoolClient & { broken: Error | null };
  client.broken = null;
  const onError = (err: Error) => {
    client.broken = err;
  };
  client.on('error', onError);
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean) => {
    client.off('error', onError);
    release(err ?? client.broken ?? undefined);
  };
  return client;
}

/** A URL or a pool: functions that take either own (and end) only the pool they made themselves. */
export type PoolTarget = string | Pool;

export async function withPool<T>(target: PoolTarget, fn: (pool: Pool) => Promise<T>): Promise<T> {
  if (typeof target !== 'string') return fn(target);
  const pool = createPool({ url: target, size: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/; // connection exceptions, shutdown, too many connections
const CONNECTION_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The database cannot be reached (as opposed to: it answered and refused this statement). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERRNO.has(code) || CONNECTION_SQLSTATE.test(code))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended/i.test(
    err.message,
  );
}

export function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

export interface ServerInfo {
  /** The TimescaleDB engine of the PGlite build (embedded default, local stack): one session, no COPY FROM STDIN. */
  embedded: boolean;
  serverVersion: string;
  timescale: { installed: string | null; available: string | null; license: string | null };
}

/**
 * What the server is. On the embedded engine the TimescaleDB library is loaded lazily and, after a
 * restart on an existing data folder, without its community-licensed module (compression, continuous
 * aggregates, policies); `LOAD 'timescaledb'` loads it properly, so it is issued there first.
 */
export async function inspectServer(client: pg.ClientBase): Promise<ServerInfo> {
  const v = await client.query<{ version: string; installed: string | null; available: string | null }>(
    `select version() as version,
            (select extversion from pg_extension where extname = 'timescaledb') as installed,
            (select default_version from pg_available_extensions where name = 'timescaledb') as available`,
  );
  const row = v.rows[0]!;
  const embedded = /emscripten/i.test(row.version);
  if (embedded && row.installed !== null) await client.query(`load 'timescaledb'`);
  const lic = await client.query<{ license: string | null }>(
    `select current_setting('timescaledb.license', true) as license`,
  );
  return {
    embedded,
    serverVersion: row.version,
    timescale: { installed: row.installed, available: row.available, license: lic.rows[0]?.license ?? null },
  };
}

/** A quoted identifier; names are restricted to [a-z_][a-z0-9_]* (the schema validation does the same). */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
    throw new Error(`invalid SQL identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}
