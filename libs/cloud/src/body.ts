import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { CloudRequestError } from './errors.js';
import { BatchScanner, type ScanLimits, type ScannedRecord } from './json-scan.js';

/**
 * A request body, from the socket to the records of its batch, without holding the event loop: the
 * wire bytes are read up to `max_body_bytes`; gzip is inflated by a zlib stream (in the thread pool)
 * whose output is counted against `max_decoded_bytes` chunk by chunk; every decoded chunk goes through
 * the streaming scanner (json-scan.ts) at once, which refuses a body as soon as it proves too deep, too
 * many rows or too large a record — so an adversarial body costs what was inflated up to that point,
 * not a full inflate and JSON.parse. Between chunks the loop gets a turn.
 */

export type Encoding = 'identity' | 'gzip';

/** Decoded bytes scanned per turn of the event loop. */
const SLICE = 32 * 1024;

/** `application/json`, `application/<x>+json`, with no charset or UTF-8. */
export function acceptedMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return charset === undefined || /^charset="?utf-8"?$/.test(charset);
}

export function encodingOf(header: string | undefined): Encoding | null {
  const e = (header ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return 'identity';
  if (e === 'gzip' || e === 'x-gzip') return 'gzip';
  return null;
}

/** Reads a body up to `limit` bytes; past it stops listening (the rest is discarded) and says so. */
export function readLimited(
  stream: Readable,
  limit: number,
): Promise<{ body: Buffer } | { tooLarge: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      n += c.length;
      if (n > limit) {
        cleanup();
        resolve({ tooLarge: n });
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve({ body: Buffer.concat(chunks, n) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

export interface DecodeLimits extends ScanLimits {
  maxDecodedBytes: number;
}

export interface DecodedBody {
  /** The decoded body (a record's bytes are `body.subarray(start, end)`). */
  body: Buffer;
  records: ScannedRecord[];
}

function decodedTooLarge(limit: number): CloudRequestError {
  return new CloudRequestError(
    413,
    'decoded_too_large',
    `the body inflates to more than ${limit} bytes (cloud_http.max_decoded_bytes): split the batch`,
  );
}

/** Whether the scanner's invalid_json is really bytes that are not UTF-8 (reported as such). */
function utf8Reason(err: unknown, chunks: Buffer[], scanned: number): unknown {
  if (!(err instanceof CloudRequestError) || err.reason !== 'invalid_json') return err;
  const at = /at byte (\d+)$/.exec(err.message);
  const upTo = at === null ? scanned : Math.min(scanned, Number(at[1]) + 4);
  const seen = Buffer.concat(chunks).subarray(0, upTo);
  return isUtf8(seen)
    ? err
    : new CloudRequestError(400, 'invalid_utf8', 'the body is not UTF-8 (JSON must be)');
}

/**
 * Gunzips `wire` with a zlib stream (the work in the thread pool), handing each output chunk to `take`
 * in its own turn of the event loop; `take` throwing stops the inflation (what is left is never made).
 */
function inflateInto(wire: Buffer, take: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: SLICE });
    const stop = (err: unknown) => {
      gunzip.removeAllListeners('data');
      gunzip.removeAllListeners('end');
      gunzip.on('error', () => undefined);
      gunzip.destroy();
      reject(err);
    };
    gunzip.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (err) {
        stop(err);
        return;
      }
      gunzip.pause();
      setImmediate(() => gunzip.resume());
    });
    gunzip.on('end', () => resolve());
    gunzip.on('error', (err) =>
      stop(
        new CloudRequestError(
          400,
          'bad_gzip',
          `Content-Encoding is gzip but the body does not gunzip: ${err.message}`,
        ),
      ),
    );
    gunzip.end(wire);
  });
}

/** Inflates (gzip) and scans the wire body; throws a CloudRequestError when it is refused. */
export async function decodeBody(
  wire: Buffer,
  encoding: Encoding,
  batchKey: string,
  limits: DecodeLimits,
): Promise<DecodedBody> {
  const scanner = new BatchScanner(batchKey, limits);
  const chunks: Buffer[] = [];
  let decoded = 0;
  const take = (chunk: Buffer) => {
    decoded += chunk.length;
    if (decoded > limits.maxDecodedBytes) throw decodedTooLarge(limits.maxDecodedBytes);
    chunks.push(chunk);
    scanner.write(chunk);
  };
  try {
    if (encoding === 'gzip' && wire.length > 0) await inflateInto(wire, take);
    else {
      if (wire.length > limits.maxDecodedBytes) throw decodedTooLarge(limits.maxDecodedBytes);
      decoded = wire.length;
      chunks.push(wire); // the body is the wire bytes: no copy
      for (let at = 0; at < wire.length; at += SLICE) {
        if (at > 0) await nextTurn();
        scanner.write(wire.subarray(at, at + SLICE));
      }
    }
    const records = scanner.end();
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, decoded);
    if (!isUtf8(body))
      throw new CloudRequestError(400, 'invalid_utf8', 'the body is not UTF-8 (JSON must be)');
    return { body, records };
  } catch (err) {
    throw utf8Reason(err, chunks, decoded);
  }
}
