/**
 * The three ways the event writer puts a statement's rows into `<schema>.events` (writer.ts picks
 * one at connect). Each resolves with the number of rows that were new; replays never duplicate.
 *
 * - `copyRows`: COPY FROM STDIN on a PostgreSQL connection. A first write is a plain COPY into the
 *   table; if it hits a row already there (a replay), it is redone as COPY into a session temp table
 *   followed by INSERT … SELECT … ON CONFLICT DO NOTHING. First writes pay nothing for idempotency.
 * - `copyRowsOverChannel`: binary COPY (copy-binary.ts) over the bulk channel of the embedded engine
 *   this process started (embedded/bulk-channel.ts), which does the same plain-then-staged COPY itself.
 * - `insertRows`: one INSERT … SELECT FROM unnest(column arrays) ON CONFLICT DO NOTHING, for an
 *   embedded engine reached only through its wire server (no COPY FROM STDIN there).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { EVENT_COLUMN_LIST, EVENT_COLUMNS } from './columns.js';
import { copyBinary } from './copy-binary.js';
import { copyEventsSql, stagedCopySql } from './copy-sql.js';
import type { BulkChannel } from './embedded/bulk-channel.js';
import { storageMetrics as m } from './metrics.js';
import type { Pool, PoolClient } from './pool.js';
import { sqlState } from './pool.js';
import { COLUMN_COUNT, copyTextLine } from './row-encoding.js';

export type Rows = Array<Array<string | null>>;

/** COPY text is encoded in pieces of about this many characters (at most 3 bytes each in UTF-8). */
const COPY_CHUNK_CHARS = 1 << 18;
/** Bytes of binary COPY per bulk-channel request: small enough to overlap encoding here with COPY there. */
const CHANNEL_REQUEST_BYTES = 1 << 20;

/** The rows as COPY text, in pieces of whole lines of about `chars` characters, encoded lazily. */
export function* copyText(rows: Rows, chars: number = COPY_CHUNK_CHARS): Generator<Buffer> {
  let text = '';
  for (const r of rows) {
    text += copyTextLine(r);
    if (text.length >= chars) {
      yield Buffer.from(text);
      text = '';
    }
  }
  if (text.length > 0) yield Buffer.from(text);
}

/**
 * Runs `fn` with the session's statement_timeout set (and reset after): the server cancels a statement
 * that outlives the writer's patience instead of going on behind a retry.
 */
export async function withStatementTimeout<T>(
  client: PoolClient,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  // an integer from the configuration, not from input
  await client.query(`set statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  const out = await fn();
  await client.query('reset statement_timeout');
  return out;
}

export async function copyRows(
  client: PoolClient,
  table: string,
  stage: string,
  rows: Rows,
): Promise<number> {
  try {
    const stream = client.query(copyFrom(copyEventsSql(table, 'stdin')));
    // PostgreSQL parses the first rows while the next ones are being encoded.
    await pipeline(Readable.from(copyText(rows), { objectMode: false }), stream);
    return rows.length;
  } catch (err) {
    if (sqlState(err) !== '23505') throw err;
    m.writeRetries.inc({ reason: 'duplicate' });
    return copyStaged(client, table, stage, rows);
  }
}

async function copyStaged(client: PoolClient, table: string, stage: string, rows: Rows): Promise<number> {
  const sql = stagedCopySql(table, stage, 'stdin');
  await client.query('begin');
  try {
    await client.query(sql.create);
    await pipeline(Readable.from(copyText(rows), { objectMode: false }), client.query(copyFrom(sql.copy)));
    const r = await client.query(sql.insert);
    await client.query('commit');
    return r.rowCount ?? 0;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

/**
 * Sends the rows in binary COPY requests of about CHANNEL_REQUEST_BYTES, each as soon as it is encoded, so the
 * engine copies one while the next is encoded; waits while the engine does not read (backpressure).
 * Each request commits on its own: after a failure some of the rows may be stored, which a retry of
 * the whole statement skips as duplicates.
 */
export async function copyRowsOverChannel(bulk: BulkChannel, schema: string, rows: Rows): Promise<number> {
  const answers: Array<Promise<number>> = [];
  let refused = false;
  try {
    for (const body of copyBinary(rows, CHANNEL_REQUEST_BYTES)) {
      if (refused) break; // the statement fails anyway: send no more of it
      const request = bulk.copyEvents(schema, body, 'binary');
      request.stored.catch(() => {
        refused = true;
      });
      answers.push(request.stored);
      await request.written;
    }
  } finally {
    // Settle every answer before returning or throwing: nothing of this statement is left running.
    await Promise.allSettled(answers);
  }
  let stored = 0;
  for (const n of await Promise.all(answers)) stored += n;
  return stored;
}

function insertSql(table: string): string {
  const casts = EVENT_COLUMNS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
  return `insert into ${table} (${EVENT_COLUMN_LIST}) select * from unnest(${casts}) on conflict do nothing`;
}

export async function insertRows(pool: Pool | PoolClient, table: string, rows: Rows): Promise<number> {
  const columns: Rows = Array.from({ length: COLUMN_COUNT }, () => new Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < COLUMN_COUNT; c++) columns[c]![r] = row[c]!;
  }
  const res = await pool.query(insertSql(table), columns);
  return res.rowCount ?? 0;
}
