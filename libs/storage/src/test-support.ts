import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedTimescale } from './embedded/embedded.js';

/**
 * Helpers for the storage tests (and benchmarks): objects with unique names, so runs in parallel on the
 * shared local stack never collide, and that are removed afterwards.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh database on a real PostgreSQL server (not the embedded engine, which has only one). */
export async function createScratchDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName(prefix);
  await admin(adminUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      admin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/**
 * A tablespace for the cold tier without a directory of its own (`allow_in_place_tablespaces`, a
 * developer setting of PostgreSQL ≥ 15 meant for exactly this kind of test). Superuser only.
 */
export async function createScratchTablespace(
  url: string,
  prefix: string,
): Promise<{ name: string; drop(): Promise<void> }> {
  const name = uniqueName(prefix);
  await admin(url, async (c) => {
    await c.query('set allow_in_place_tablespaces = on');
    await c.query(`create tablespace ${name} location ''`);
  });
  return {
    name,
    drop: () => admin(url, (c) => c.query(`drop tablespace if exists ${name}`)).then(() => undefined),
  };
}

/** Drops a schema and everything in it (tables, continuous aggregates, functions). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await admin(url, (c) => c.query(`drop schema if exists "${schema}" cascade`));
}

/**
 * Opens `n` connections of a pool at once and keeps them (create the pool with idleTimeoutMs 0). The
 * local stack's TimescaleDB engine, when started from code older than the socket-queue fix, could lose
 * the answer to a query when another connection was opened during it; a warmed pool opens none later.
 */
export async function warmPool(pool: pg.Pool, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  for (const c of clients) c.release();
}

/** A database a benchmark measures on; stop() removes it. */
export interface ScratchEngine {
  name: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * Openers of the two engines the benchmarks compare: a scratch database on a PostgreSQL server
 * (`adminUrl`, the local stack's), and an embedded TimescaleDB engine of its own in a temporary
 * folder, as `npm start` runs it.
 */
export function scratchEngines(adminUrl: string, prefix: string): Array<() => Promise<ScratchEngine>> {
  return [
    async () => {
      const db = await createScratchDatabase(adminUrl, prefix);
      return { name: 'PostgreSQL 15 (local stack)', url: db.url, stop: db.drop };
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
      const engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
      return {
        name: 'embedded TimescaleDB (PGlite)',
        url: engine.url,
        stop: async () => {
          await engine.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ];
}
