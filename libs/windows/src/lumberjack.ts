import { inflateSync } from 'node:zlib';

/**
 * The Beats / Lumberjack protocol, version 2, server side: what Winlogbeat's `output.logstash` (the
 * go-lumber client inside libbeat) sends, as the Logstash beats input reads it. The layout is the one
 * of the protocol document (logstash-forwarder PROTOCOL.md, kept as logstash-input-beats PROTOCOL.md)
 * with version byte '2' and the JSON frame; see src/fixtures/lumberjack-v2/README.md for the sources
 * and for why the newer go-lumber PROTOCOL.md is not followed.
 *
 *   window     '2' 'W' size:u32                      writer → reader
 *   json       '2' 'J' seq:u32 length:u32 json[length]  writer → reader
 *   compressed '2' 'C' length:u32 zlib[length]        writer → reader; inflates to whole frames
 *   ack        '2' 'A' seq:u32                       reader → writer; acknowledges every event ≤ seq
 *
 * All integers big-endian. The writer sends a window frame, then that many events (sequence numbers
 * 1…n in libbeat), JSON frames usually wrapped in one compressed frame, and waits for the ACK of the
 * last one; the reader may ACK part of the window first, and an ACK of 0 is a keepalive (Logstash
 * sends one while its pipeline is blocked; the writer's wait for the ACK restarts on it).
 */
export const LJ_VERSION = 0x32; // '2'
export const LJ_WINDOW = 0x57; // 'W'
export const LJ_JSON = 0x4a; // 'J'
export const LJ_COMPRESSED = 0x43; // 'C'
export const LJ_ACK = 0x41; // 'A'

/** Why a Lumberjack stream is unusable (bounded: a metric label). The caller closes the connection. */
export type LumberjackError =
  | 'bad_version'
  | 'bad_frame_type'
  | 'frame_too_large'
  | 'window_too_large'
  | 'bad_compressed_frame'
  | 'decompressed_too_large';

export interface LumberjackDecoderOptions {
  /** Largest JSON frame payload or compressed frame payload (wire bytes). */
  maxFrameBytes: number;
  /** Largest window size a writer may announce. */
  maxWindowEvents: number;
  /** Largest inflated content of one compressed frame. */
  maxDecompressedBytes: number;
}

export interface LumberjackHandler {
  /** A window size frame: the writer sends up to `size` events before it waits for their ACK. */
  window(size: number): void;
  /** A JSON data frame. `payload` is a view, valid only during the call. */
  event(seq: number, payload: Buffer): void;
}

/** The ACK frame for `seq` (0: keepalive). */
export function ackFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = LJ_VERSION;
  b[1] = LJ_ACK;
  b.writeUInt32BE(seq >>> 0, 2);
  return b;
}

const HEADER = 0;
const WINDOW = 1;
const JSON_HEADER = 2;
const JSON_BODY = 3;
const COMPRESSED_HEADER = 4;
const COMPRESSED_BODY = 5;

/**
 * Incremental decoder of one connection's byte stream. Frames are delivered synchronously from `push`;
 * a frame split across reads is collected once it is whole (memory per connection: one frame, at most
 * maxFrameBytes, plus one inflated compressed frame, at most maxDecompressedBytes). A compressed frame
 * must inflate to whole JSON (or window) frames; a compressed frame inside a compressed frame is refused.
 */
export class LumberjackDecoder {
  readonly #o: LumberjackDecoderOptions;
  readonly #h: LumberjackHandler;
  #state = HEADER;
  #need = 2;
  #parts: Buffer[] = [];
  #partsLen = 0;
  #seq = 0;
  #aborted = false;

  constructor(options: LumberjackDecoderOptions, handler: LumberjackHandler) {
    this.#o = options;
    this.#h = handler;
  }

  /** Whether a frame has begun and not ended (the stream stopping here cuts a frame). */
  get midFrame(): boolean {
    return this.#state !== HEADER || this.#partsLen > 0;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.#partsLen;
  }

  /** Stops delivering: the rest of the current and every later chunk is ignored. */
  abort(): void {
    this.#aborted = true;
    this.#parts = [];
    this.#partsLen = 0;
  }

  /** Feeds a chunk; returns an error when the stream is unusable (frames before it were delivered). */
  push(chunk: Buffer): LumberjackError | null {
    if (this.#aborted) return null;
    let buf = chunk;
    if (this.#partsLen > 0) {
      this.#parts.push(chunk);
      this.#partsLen += chunk.length;
      if (this.#partsLen < this.#need) return null;
      buf = Buffer.concat(this.#parts, this.#partsLen);
      this.#parts = [];
      this.#partsLen = 0;
    }
    let pos = 0;
    while (buf.length - pos >= this.#need) {
      const at = pos;
      pos += this.#need;
      const err = this.#step(buf, at);
      if (err !== null) return err;
      if (this.#aborted) return null;
    }
    if (pos < buf.length) {
      this.#parts.push(buf.subarray(pos));
      this.#partsLen = buf.length - pos;
    }
    return null;
  }

  #to(state: number, need: number): void {
    this.#state = state;
    this.#need = need;
  }

  /** Consumes the `#need` bytes at `at`. */
  #step(b: Buffer, at: number): LumberjackError | null {
    switch (this.#state) {
      case HEADER: {
        if (b[at] !== LJ_VERSION) return 'bad_version';
        const type = b[at + 1];
        if (type === LJ_JSON) this.#to(JSON_HEADER, 8);
        else if (type === LJ_COMPRESSED) this.#to(COMPRESSED_HEADER, 4);
        else if (type === LJ_WINDOW) this.#to(WINDOW, 4);
        else return 'bad_frame_type';
        return null;
      }
      case WINDOW: {
        const size = b.readUInt32BE(at);
        if (size > this.#o.maxWindowEvents) return 'window_too_large';
        this.#to(HEADER, 2);
        this.#h.window(size);
        return null;
      }
      case JSON_HEADER: {
        this.#seq = b.readUInt32BE(at);
        const length = b.readUInt32BE(at + 4);
        if (length > this.#o.maxFrameBytes) return 'frame_too_large';
        if (length === 0) {
          this.#to(HEADER, 2);
          this.#h.event(this.#seq, b.subarray(at, at));
        } else this.#to(JSON_BODY, length);
        return null;
      }
      case JSON_BODY: {
        const end = at + this.#need;
        this.#to(HEADER, 2);
        this.#h.event(this.#seq, b.subarray(at, end));
        return null;
      }
      case COMPRESSED_HEADER: {
        const length = b.readUInt32BE(at);
        if (length > this.#o.maxFrameBytes) return 'frame_too_large';
        if (length === 0) return 'bad_compressed_frame';
        this.#to(COMPRESSED_BODY, length);
        return null;
      }
      case COMPRESSED_BODY: {
        const compressed = b.subarray(at, at + this.#need);
        this.#to(HEADER, 2);
        let inner: Buffer;
        try {
          inner = inflateSync(compressed, { maxOutputLength: this.#o.maxDecompressedBytes });
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
            ? 'decompressed_too_large'
            : 'bad_compressed_frame';
        }
        return this.#inner(inner);
      }
      default:
        return 'bad_frame_type';
    }
  }

  /** The frames of an inflated compressed frame: whole JSON or window frames, nothing left over. */
  #inner(b: Buffer): LumberjackError | null {
    let p = 0;
    while (p < b.length) {
      if (b.length - p < 2) return 'bad_compressed_frame';
      if (b[p] !== LJ_VERSION) return 'bad_version';
      const type = b[p + 1];
      if (type === LJ_JSON) {
        if (b.length - p < 10) return 'bad_compressed_frame';
        const seq = b.readUInt32BE(p + 2);
        const length = b.readUInt32BE(p + 6);
        if (length > this.#o.maxFrameBytes) return 'frame_too_large';
        if (b.length - p - 10 < length) return 'bad_compressed_frame';
        this.#h.event(seq, b.subarray(p + 10, p + 10 + length));
        p += 10 + length;
      } else if (type === LJ_WINDOW) {
        if (b.length - p < 6) return 'bad_compressed_frame';
        const size = b.readUInt32BE(p + 2);
        if (size > this.#o.maxWindowEvents) return 'window_too_large';
        this.#h.window(size);
        p += 6;
      } else {
        return 'bad_frame_type';
      }
      if (this.#aborted) return null;
    }
    return null;
  }
}
