/**
 * The bulk channel: how a process hands event rows to the embedded engine it started, as COPY text,
 * without the wire server (whose pglite-socket cannot take COPY FROM STDIN). It is a private pipe
 * between the two processes (a spare stdio descriptor of the engine's process): no port, no file, so
 * no other local user or process can reach it.
 *
 * Requests are frames (bulk-frames.ts) with a JSON header `{id, op, schema, format}` and the rows as
 * body, COPY text or binary COPY (the writer sends binary: the engine parses less);
 * answers are `{id, ok, rows}` or `{id, ok: false, error: {message, code}}`, where code is the
 * SQLSTATE, so the writer treats an engine's refusal exactly as it treats one from PostgreSQL. Several
 * requests may be outstanding; the engine runs them one at a time, in order.
 */
import type { Duplex } from 'node:stream';
import { SiemError } from '@siem/core';
import { BULK_MAX_FRAME_BYTES, encodeFrame, type Frame, FrameReader } from './bulk-frames.js';

/** An error the engine answered, shaped like pg's: `code` is the SQLSTATE. */
export class EngineError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;
  constructor(message: string, code?: string, detail?: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.detail = detail;
  }
}

export interface BulkRequest {
  /** Resolves once the request is handed to the pipe (waits while the engine is not reading). */
  written: Promise<void>;
  /** The number of rows that were new. */
  stored: Promise<number>;
}

interface Pending {
  resolve(rows: number): void;
  reject(err: Error): void;
}

export class BulkChannel {
  /** The largest body a request may carry. */
  static readonly maxBodyBytes = BULK_MAX_FRAME_BYTES - 4096;
  readonly #socket: Duplex;
  readonly #reader = new FrameReader(1024 * 1024);
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #failure: Error | null = null;
  #drain: Promise<void> | null = null;

  constructor(socket: Duplex) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.#reader.push(chunk)) this.#answer(frame);
      } catch (err) {
        this.#fail(err as Error);
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(null));
  }

  get open(): boolean {
    return this.#failure === null;
  }

  /**
   * Stores the rows of `body` into `<schema>.events`: COPY text (complete lines) or a complete binary
   * COPY stream (copy-binary.ts).
   */
  copyEvents(schema: string, body: Buffer, format: 'text' | 'binary' = 'text'): BulkRequest {
    if (body.length > BulkChannel.maxBodyBytes) {
      const err = new SiemError(
        'SIEM_ERR_DB_WRITE',
        `a bulk request of ${body.length} bytes exceeds the limit of ${BulkChannel.maxBodyBytes}`,
      );
      return { written: Promise.reject(err), stored: Promise.reject(err) };
    }
    return this.#request({ op: 'copy_events', schema, format }, body);
  }

  /** Resolves when the engine answers on the channel. */
  async ping(): Promise<void> {
    const r = this.#request({ op: 'ping' });
    await r.written;
    await r.stored;
  }

  close(): void {
    this.#fail(null);
    this.#socket.destroy();
  }

  #request(header: Record<string, unknown>, body?: Buffer): BulkRequest {
    if (this.#failure !== null) {
      return { written: Promise.reject(this.#failure), stored: Promise.reject(this.#failure) };
    }
    const id = this.#next++;
    const stored = new Promise<number>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    // The caller may await `written` first: a rejection of `stored` meanwhile is not unhandled.
    stored.catch(() => undefined);
    let flushed = true;
    this.#socket.cork();
    for (const part of encodeFrame({ ...header, id }, body)) flushed = this.#socket.write(part);
    this.#socket.uncork();
    const written = flushed ? Promise.resolve() : this.#drained();
    written.catch(() => undefined);
    return { written, stored };
  }

  /** One wait for 'drain' shared by every request written meanwhile. */
  #drained(): Promise<void> {
    this.#drain ??= new Promise<void>((resolve, reject) => {
      const socket = this.#socket;
      const done = (err?: Error) => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        this.#drain = null;
        if (err === undefined) resolve();
        else reject(err);
      };
      const onDrain = () => done();
      const onClose = () => done(this.#failure ?? closedError());
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
    return this.#drain;
  }

  #answer(frame: Frame): void {
    const { id, ok, rows, error } = frame.header as {
      id: number;
      ok: boolean;
      rows?: number;
      error?: { message?: string; code?: string; detail?: string };
    };
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (ok) p.resolve(typeof rows === 'number' ? rows : 0);
    else
      p.reject(
        new EngineError(error?.message ?? 'the engine refused the request', error?.code, error?.detail),
      );
  }

  #fail(err: Error | null): void {
    if (this.#failure === null) this.#failure = closedError(err);
    for (const p of this.#pending.values()) p.reject(this.#failure);
    this.#pending.clear();
  }
}

/** Shaped as a lost connection (isConnectionError): the writer backs off and reconnects. */
function closedError(cause?: Error | null): Error {
  const err = new Error(
    `Connection terminated: the embedded engine's bulk channel closed${cause ? ` (${cause.message})` : ''}`,
    cause ? { cause } : undefined,
  );
  (err as Error & { code: string }).code = 'ECONNRESET';
  return err;
}
