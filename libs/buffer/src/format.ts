import { crc32 } from 'node:zlib';
import type { BufferRecord } from '@siem/core';
import { Compressor, Decompressor } from 'zstd-napi';

/**
 * The on-disk format of the spill directory.
 *
 * A segment file (`seg-<id>.sbuf`) is a 48-byte header followed by frames, appended and never rewritten:
 *
 *   segment header (little-endian)
 *     0  magic "SIEMBUF1" (8)     8  version u32      12  id u32          16  nonce u32 (random)
 *     20 codec u32 (1 = zstd)     24 order f64        32  created-at ms f64
 *     40 reserved u32             44 crc32 of bytes 0..44
 *
 *   frame = one batch of events
 *     0  magic "FRM1" u32         4  payload length u32   8  raw length u32   12  event count u32
 *     16 first-event ms f64       24 crc32 of header bytes 0..24 followed by the payload
 *     28 payload: zstd frame of the raw records, each `u32 key length, key (UTF-8), u32 value length, value`
 *
 * Replay order is the segments' `order` (normally their id; segments written at shutdown for events
 * that were in memory get a fractional order that places them before the disk data they preceded),
 * then the frames' file order. The nonce ties ack-ledger entries to one incarnation of a segment id.
 */
export const SEGMENT_MAGIC = Buffer.from('SIEMBUF1', 'latin1');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 48;
export const CODEC_ZSTD = 1;
export const FRAME_MAGIC = 0x314d5246; // "FRM1" read as little-endian u32
export const FRAME_HEADER_SIZE = 28;
/** A frame header announcing more than this is treated as corrupt rather than read. */
export const MAX_FRAME_PAYLOAD = 1024 * 1024 * 1024;

const SEGMENT_FILE = /^seg-(\d{10})\.sbuf$/;

export function segmentFileName(id: number): string {
  return `seg-${String(id).padStart(10, '0')}.sbuf`;
}

/** The segment id of a file name, or null when the name is not a segment's. */
export function segmentIdOf(fileName: string): number | null {
  const m = SEGMENT_FILE.exec(fileName);
  return m === null ? null : Number(m[1]);
}

export interface SegmentHeader {
  id: number;
  nonce: number;
  order: number;
  createdAtMs: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_SIZE);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(SEGMENT_VERSION, 8);
  b.writeUInt32LE(h.id, 12);
  b.writeUInt32LE(h.nonce >>> 0, 16);
  b.writeUInt32LE(CODEC_ZSTD, 20);
  b.writeDoubleLE(h.order, 24);
  b.writeDoubleLE(h.createdAtMs, 32);
  b.writeUInt32LE(crc32(b.subarray(0, 44)), 44);
  return b;
}

/** The header, or the reason it is not a valid one. */
export function decodeSegmentHeader(b: Buffer): SegmentHeader | string {
  if (b.length < SEGMENT_HEADER_SIZE) return 'short header';
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'bad magic';
  if (b.readUInt32LE(44) !== crc32(b.subarray(0, 44))) return 'header checksum mismatch';
  if (b.readUInt32LE(8) !== SEGMENT_VERSION) return `unsupported version ${b.readUInt32LE(8)}`;
  if (b.readUInt32LE(20) !== CODEC_ZSTD) return `unsupported codec ${b.readUInt32LE(20)}`;
  return {
    id: b.readUInt32LE(12),
    nonce: b.readUInt32LE(16),
    order: b.readDoubleLE(24),
    createdAtMs: b.readDoubleLE(32),
  };
}

export interface FrameHeader {
  payloadLength: number;
  rawLength: number;
  count: number;
  firstMs: number;
  crc: number;
}

/** Parses a frame header; null when the magic or the lengths cannot be right. */
export function decodeFrameHeader(b: Buffer, at = 0): FrameHeader | null {
  if (b.length - at < FRAME_HEADER_SIZE) return null;
  if (b.readUInt32LE(at) !== FRAME_MAGIC) return null;
  const payloadLength = b.readUInt32LE(at + 4);
  const rawLength = b.readUInt32LE(at + 8);
  const count = b.readUInt32LE(at + 12);
  if (payloadLength === 0 || payloadLength > MAX_FRAME_PAYLOAD || count === 0) return null;
  // Each record takes at least its two 4-byte length fields.
  if (rawLength < count * 8) return null;
  return { payloadLength, rawLength, count, firstMs: b.readDoubleLE(at + 16), crc: b.readUInt32LE(at + 24) };
}

export function frameChecksum(header: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(header.subarray(0, 24)));
}

/** A sealed frame, ready to append: header and compressed payload, plus what it carries. */
export interface SealedFrame {
  header: Buffer;
  payload: Buffer;
  /** header + payload bytes on disk. */
  size: number;
  rawLength: number;
  count: number;
  firstMs: number;
  /** The events themselves, so a reader that catches up with the writer needs no disk read. */
  records: BufferRecord[];
}

/**
 * Accumulates events into the raw form of one frame and seals it (compress, checksum). The raw buffer
 * is reused from frame to frame; compression writes a new buffer of the compressed size.
 */
export class FrameBuilder {
  readonly #compressor = new Compressor();
  #raw: Buffer;
  #length = 0;
  #records: BufferRecord[] = [];
  #firstMs = 0;

  constructor(level: number, initialBytes: number) {
    this.#compressor.setParameters({ compressionLevel: level });
    this.#raw = Buffer.allocUnsafe(initialBytes + 64 * 1024);
  }

  get count(): number {
    return this.#records.length;
  }

  get rawLength(): number {
    return this.#length;
  }

  get firstMs(): number {
    return this.#firstMs;
  }

  append(record: BufferRecord, nowMs: number): void {
    const keyBytes = Buffer.byteLength(record.key, 'utf8');
    const need = this.#length + 8 + keyBytes + record.value.length;
    if (need > this.#raw.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#raw.length * 2));
      this.#raw.copy(grown, 0, 0, this.#length);
      this.#raw = grown;
    }
    if (this.#records.length === 0) this.#firstMs = nowMs;
    const raw = this.#raw;
    let o = this.#length;
    raw.writeUInt32LE(keyBytes, o);
    o += 4;
    o += raw.write(record.key, o, 'utf8');
    raw.writeUInt32LE(record.value.length, o);
    o += 4;
    o += record.value.copy(raw, o);
    this.#length = o;
    this.#records.push(record);
  }

  /** Compresses what was appended into a frame and starts an empty one. */
  seal(): SealedFrame {
    const rawLength = this.#length;
    const payload = this.#compressor.compress(this.#raw.subarray(0, rawLength));
    const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
    header.writeUInt32LE(FRAME_MAGIC, 0);
    header.writeUInt32LE(payload.length, 4);
    header.writeUInt32LE(rawLength, 8);
    header.writeUInt32LE(this.#records.length, 12);
    header.writeDoubleLE(this.#firstMs, 16);
    header.writeUInt32LE(frameChecksum(header, payload), 24);
    const frame: SealedFrame = {
      header,
      payload,
      size: FRAME_HEADER_SIZE + payload.length,
      rawLength,
      count: this.#records.length,
      firstMs: this.#firstMs,
      records: this.#records,
    };
    this.#records = [];
    this.#length = 0;
    return frame;
  }
}

let sharedDecompressor: Decompressor | null = null;

/**
 * Decompresses a frame payload and splits it into records. The values are views into one buffer per
 * frame (no copy per event). Returns the reason when the payload does not decode to `count` records.
 */
export function decodeFramePayload(payload: Buffer, header: FrameHeader): BufferRecord[] | string {
  sharedDecompressor ??= new Decompressor();
  let raw: Buffer;
  try {
    raw = sharedDecompressor.decompress(payload);
  } catch (err) {
    return `zstd: ${(err as Error).message}`;
  }
  if (raw.length !== header.rawLength) return 'raw length mismatch';
  const records: BufferRecord[] = [];
  let o = 0;
  for (let i = 0; i < header.count; i++) {
    if (o + 4 > raw.length) return 'record overruns frame';
    const kl = raw.readUInt32LE(o);
    o += 4;
    if (o + kl + 4 > raw.length) return 'record overruns frame';
    const key = raw.toString('utf8', o, o + kl);
    o += kl;
    const vl = raw.readUInt32LE(o);
    o += 4;
    if (o + vl > raw.length) return 'record overruns frame';
    records.push({ key, value: raw.subarray(o, o + vl) });
    o += vl;
  }
  if (o !== raw.length) return 'trailing bytes in frame';
  return records;
}
