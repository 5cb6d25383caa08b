import { type FileHandle, open } from 'node:fs/promises';
import type { BufferRecord } from '@siem/core';
import {
  decodeFrameHeader,
  decodeFramePayload,
  FRAME_HEADER_SIZE,
  type FrameHeader,
  frameChecksum,
} from './format.js';

const CHUNK = 1024 * 1024;

export type FrameRead =
  | { kind: 'frame'; header: FrameHeader; size: number; records: BufferRecord[] }
  /** `offset` is exactly the end of the readable data. */
  | { kind: 'end' }
  /**
   * The data from `offset` to the end is an incomplete or unreadable last frame: what a write cut short
   * by a crash or a power loss leaves. `bytes` long.
   */
  | { kind: 'torn'; bytes: number; reason: string }
  /** A frame that fails its checks with readable data after it: damage, not a cut-short write. */
  | { kind: 'corrupt'; bytes: number; reason: string; frameSize: number | null };

/**
 * Reads the frames of one segment file in order, through a 1 MiB read-ahead window, so replay streams:
 * at most one window plus one frame is in memory, whatever the segment's size. Knows nothing of acks.
 */
export class SegmentFileReader {
  readonly #h: FileHandle;
  #end: number;
  #chunk: Buffer = Buffer.allocUnsafe(CHUNK);
  #chunkStart = 0;
  #chunkLen = 0;

  private constructor(h: FileHandle, end: number) {
    this.#h = h;
    this.#end = end;
  }

  /** Opens `path`, reading at most up to `end` (the bytes known to be written). */
  static async open(path: string, end: number): Promise<SegmentFileReader> {
    return new SegmentFileReader(await open(path, 'r'), end);
  }

  /** Extends the readable end (the writer appended more of a segment of this run). */
  set end(end: number) {
    this.#end = end;
  }

  get end(): number {
    return this.#end;
  }

  async #bytes(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.#chunkStart && offset + length <= this.#chunkStart + this.#chunkLen) {
      return this.#chunk.subarray(offset - this.#chunkStart, offset - this.#chunkStart + length);
    }
    const want = Math.min(Math.max(length, CHUNK), this.#end - offset);
    if (want > this.#chunk.length) this.#chunk = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.#h.read(this.#chunk, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.#chunkStart = offset;
    this.#chunkLen = got;
    return this.#chunk.subarray(0, Math.min(got, length));
  }

  async #allZero(offset: number): Promise<boolean> {
    for (let at = offset; at < this.#end; ) {
      const n = Math.min(CHUNK, this.#end - at);
      const b = await this.#bytes(at, n);
      if (b.length === 0) return true;
      for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
      at += b.length;
    }
    return true;
  }

  async readAt(offset: number): Promise<FrameRead> {
    const left = this.#end - offset;
    if (left <= 0) return { kind: 'end' };
    if (left < FRAME_HEADER_SIZE) return { kind: 'torn', bytes: left, reason: 'partial frame header' };
    const hb = await this.#bytes(offset, FRAME_HEADER_SIZE);
    const header = decodeFrameHeader(hb);
    if (header === null) {
      // Zeros to the end: the file grew but the data never reached the disk (power loss).
      if (await this.#allZero(offset)) return { kind: 'torn', bytes: left, reason: 'zeroed tail' };
      return { kind: 'corrupt', bytes: left, reason: 'bad frame header', frameSize: null };
    }
    const size = FRAME_HEADER_SIZE + header.payloadLength;
    if (size > left) return { kind: 'torn', bytes: left, reason: 'partial frame' };
    const fb = await this.#bytes(offset, size);
    if (fb.length < size) return { kind: 'torn', bytes: left, reason: 'partial frame' };
    const payload = fb.subarray(FRAME_HEADER_SIZE, size);
    const last = size === left;
    if (frameChecksum(fb, payload) !== header.crc) {
      return last
        ? { kind: 'torn', bytes: left, reason: 'checksum mismatch in last frame' }
        : { kind: 'corrupt', bytes: left, reason: 'checksum mismatch', frameSize: size };
    }
    const records = decodeFramePayload(payload, header);
    if (typeof records === 'string') {
      return { kind: 'corrupt', bytes: left, reason: `undecodable frame: ${records}`, frameSize: size };
    }
    return { kind: 'frame', header, size, records };
  }

  async close(): Promise<void> {
    await this.#h.close().catch(() => undefined);
  }
}
