/**
 * The framing of the bulk channel between a process and the embedded engine it started (a private
 * pipe, see bulk-channel.ts): each frame is
 *
 *   u32 BE  frame length (bytes after this field)
 *   u32 BE  header length
 *   header  UTF-8 JSON object
 *   body    the rest (COPY text for a request, empty for an answer)
 *
 * Frames are bounded by the reader's `maxFrameBytes`: a larger announced length is a protocol error
 * (the peer is broken), never a reason to buffer more.
 */
import { SiemError } from '@siem/core';

export interface Frame {
  header: Record<string, unknown>;
  body: Buffer;
}

/** The largest frame either end sends (a request's COPY text is a little less). */
export const BULK_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const PREFIX = 8;

/** The frame as buffers to write (no copy of the body). */
export function encodeFrame(header: Record<string, unknown>, body?: Buffer): Buffer[] {
  const h = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(PREFIX);
  prefix.writeUInt32BE(4 + h.length + (body?.length ?? 0), 0);
  prefix.writeUInt32BE(h.length, 4);
  return body === undefined || body.length === 0 ? [prefix, h] : [prefix, h, body];
}

/** Reassembles frames from stream chunks; `push` returns the frames completed by this chunk. */
export class FrameReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Header length of the frame being read, or -1 while its prefix is awaited. */
  #headerLength = -1;
  #need = PREFIX;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.#buffered >= this.#need) {
      if (this.#headerLength < 0) {
        const prefix = this.#take(PREFIX);
        const length = prefix.readUInt32BE(0);
        const headerLength = prefix.readUInt32BE(4);
        if (headerLength < 2 || headerLength > length - 4 || PREFIX + length - 4 > this.#max) {
          throw new SiemError(
            'SIEM_ERR_FRAME',
            `bulk channel frame of ${length} bytes (header ${headerLength}) is malformed or exceeds ${this.#max} bytes`,
          );
        }
        this.#headerLength = headerLength;
        this.#need = length - 4;
        continue;
      }
      const rest = this.#take(this.#need);
      let header: unknown;
      try {
        header = JSON.parse(rest.toString('utf8', 0, this.#headerLength));
      } catch (cause) {
        throw new SiemError('SIEM_ERR_FRAME', 'bulk channel frame header is not JSON', { cause });
      }
      if (header === null || typeof header !== 'object' || Array.isArray(header)) {
        throw new SiemError('SIEM_ERR_FRAME', 'bulk channel frame header is not an object');
      }
      frames.push({ header: header as Record<string, unknown>, body: rest.subarray(this.#headerLength) });
      this.#headerLength = -1;
      this.#need = PREFIX;
    }
    return frames;
  }

  #take(n: number): Buffer {
    let out: Buffer;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.#chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(k);
      }
    }
    this.#buffered -= n;
    return out;
  }
}
