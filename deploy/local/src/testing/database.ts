/** Databases for integration tests: a client for one call, scratch databases, event counts. */
import pg from 'pg';
import { uniqueSuffix } from './role-process.js';
import { waitUntil } from './wait.js';

export async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Rows and distinct event ids in `<schema>.events` (0/0 while the table does not exist yet). */
export async function countEvents(url: string, schema: string): Promise<{ rows: number; ids: number }> {
  return withDb(url, async (c) => {
    const exists = await c.query('select to_regclass($1) as t', [`"${schema}".events`]);
    if (exists.rows[0].t === null) return { rows: 0, ids: 0 };
    const r = await c.query(
      `select count(*)::int as rows, count(distinct event_id)::int as ids from "${schema}".events`,
    );
    return r.rows[0] as { rows: number; ids: number };
  });
}

/** A fresh database on a real PostgreSQL server; `drop` removes it. */
export async function createScratchDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${uniqueSuffix()}`.toLowerCase();
  await withDb(adminUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withDb(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** Waits until `<schema>.events` holds at least `count` rows; resolves with its rows and distinct ids. */
export function waitForEvents(
  url: string,
  schema: string,
  count: number,
  timeoutMs = 120_000,
  everyMs = 250,
): Promise<{ rows: number; ids: number }> {
  return waitUntil(
    `${count} rows in ${schema}.events`,
    async () => {
      const n = await countEvents(url, schema);
      return n.rows >= count ? n : undefined;
    },
    timeoutMs,
    everyMs,
  );
}
