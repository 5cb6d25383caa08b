import type { Socket } from 'node:net';
import { createInflate } from 'node:zlib';
import { HeldAcks } from '@siem/net';

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
  | 'window_exceeded'
  | 'compressed_too_many_events'
  | 'bad_compressed_frame'
  | 'decompressed_too_large';

export interface LumberjackDecoderOptions {
  /** Largest JSON frame payload or compressed frame payload (wire bytes). */
  maxFrameBytes: number;
  /** Largest window size a writer may announce. */
  maxWindowEvents: number;
  /** Largest inflated content of one compressed frame. */
  maxDecompressedBytes: number;
  /** Most events one compressed frame may carry (window frames inside it do not reset this count). */
  maxCompressedEvents: number;
}

export interface LumberjackHandler {
  /** A window size frame: the writer sends up to `size` events before it waits for their ACK. */
  window(size: number): void;
  /** A JSON data frame. `payload` is a view, valid only during the call. */
  event(seq: number, payload: Buffer): void;
  /** The stream is unusable (once; the decoder delivers nothing more). Frames before it were delivered. */
  error(reason: LumberjackError): void;
  /** Every whole frame received so far was delivered: after a push, or when an inflation has ended. */
  idle(): void;
}

/** The ACK frame for `seq` (0: keepalive). */
export function ackFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = LJ_VERSION;
  b[1] = LJ_ACK;
  b.writeUInt32BE(seq >>> 0, 2);
  return b;
}

/**
 * The Lumberjack window ACK, the stream ACK hook of a Beats connection: the sequence number of the
 * last event the intake took, written as an ACK frame. While the intake asks to pause, one ACK per
 * window is held (the last taken of it), so the writer stops at its window; `keepalive` writes ACK 0
 * meanwhile, which restarts the writer's ACK timeout without acknowledging anything.
 */
export class LumberjackAck extends HeldAcks<number> {
  /** `written`: told of every ACK frame written (`keepalive`: sequence 0). */
  constructor(socket: Socket, written: (keepalive: boolean) => void) {
    super((seq) => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(ackFrame(seq));
      written(seq === 0);
    });
  }

  /** A window frame: ACKs held from now on are the new window's. */
  window(): void {
    this.nextGroup();
  }

  keepalive(): void {
    this.write(0);
  }
}

const HEADER = 0;
const WINDOW = 1;
const JSON_HEADER = 2;
const JSON_BODY = 3;
const COMPRESSED_HEADER = 4;
const COMPRESSED_BODY = 5;

/** Inflated bytes read per turn of the event loop (their whole frames are delivered in that turn). */
const INFLATE_CHUNK = 16 * 1024;

/**
 * Incremental decoder of one connection's byte stream. Plain frames are delivered synchronously from
 * `push`. A compressed frame is inflated by zlib in the thread pool (never on the event loop, with
 * `maxOutputLength`), and its frames are delivered a slice per turn; meanwhile `busy` is true and the
 * bytes pushed are only kept (the caller stops reading the socket). Memory per connection: one frame
 * being collected (at most maxFrameBytes), plus one inflated compressed frame (maxDecompressedBytes).
 *
 * The window is enforced: an event beyond the count the last window frame announced (or before any)
 * is an error, as is a compressed frame carrying more than maxCompressedEvents events — so one frame
 * of a few kilobytes cannot become hundreds of thousands of events. A compressed frame must inflate to
 * whole JSON (or window) frames; a compressed frame inside a compressed frame is refused.
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
  #busy = false;
  /** Bytes of the compressed frame being inflated, or of its inflated content being delivered. */
  #heldBytes = 0;
  #window = 0;
  #inWindow = 0;
  #waiters: (() => void)[] = [];

  constructor(options: LumberjackDecoderOptions, handler: LumberjackHandler) {
    this.#o = options;
    this.#h = handler;
  }

  /** Whether a frame has begun and not ended (the stream stopping here cuts a frame). */
  get midFrame(): boolean {
    return this.#state !== HEADER || this.#partsLen > 0 || this.#busy;
  }

  /** Bytes held for frames not delivered yet (incomplete, or being inflated or delivered). */
  get pendingBytes(): number {
    return this.#partsLen + this.#heldBytes;
  }

  /** Whether a compressed frame is being inflated or delivered (bytes pushed meanwhile wait). */
  get busy(): boolean {
    return this.#busy;
  }

  /** Resolves once the decoder is not busy (tests, and a listener that stops). */
  settled(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops delivering: the rest of the current and every later chunk is ignored. */
  abort(): void {
    this.#aborted = true;
    this.#parts = [];
    this.#partsLen = 0;
    this.#heldBytes = 0;
    this.#setBusy(false);
  }

  /** Feeds a chunk; what it completes is delivered now, or after the inflation in progress. */
  push(chunk: Buffer): void {
    if (this.#aborted) return;
    this.#parts.push(chunk);
    this.#partsLen += chunk.length;
    if (!this.#busy) this.#run();
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    if (busy) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #fail(reason: LumberjackError): void {
    this.abort();
    this.#h.error(reason);
  }

  /** Decodes the whole frames of what is held, until one needs inflating or bytes run out. */
  #run(): void {
    if (this.#partsLen < this.#need) {
      this.#h.idle();
      return;
    }
    const buf = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partsLen);
    this.#parts = [];
    this.#partsLen = 0;
    let pos = 0;
    while (buf.length - pos >= this.#need) {
      const at = pos;
      pos += this.#need;
      if (this.#state === COMPRESSED_BODY) {
        this.#to(HEADER, 2);
        this.#keep(buf, pos);
        this.#inflate(buf.subarray(at, pos));
        return;
      }
      const err = this.#step(buf, at);
      if (err !== null) {
        this.#fail(err);
        return;
      }
      if (this.#aborted) return;
    }
    this.#keep(buf, pos);
    this.#h.idle();
  }

  #keep(buf: Buffer, pos: number): void {
    if (pos >= buf.length) return;
    this.#parts.unshift(buf.subarray(pos));
    this.#partsLen += buf.length - pos;
  }

  #to(state: number, need: number): void {
    this.#state = state;
    this.#need = need;
  }

  /**
   * Inflates a compressed frame with a zlib stream: zlib works in the thread pool, and its output is
   * read a chunk per turn of the event loop, each chunk's whole frames delivered at once — no single
   * large buffer is assembled on the loop (a 64 MB frame would take a copy of 64 MB there).
   */
  #inflate(compressed: Buffer): void {
    this.#setBusy(true);
    this.#heldBytes = compressed.length;
    const z = createInflate({ chunkSize: INFLATE_CHUNK });
    const inner = new InnerFrames();
    let out = 0;
    let events = 0;
    const stop = (reason: LumberjackError | null) => {
      z.removeAllListeners('data');
      z.removeAllListeners('end');
      z.on('error', () => undefined);
      z.destroy();
      if (reason !== null) this.#fail(reason);
    };
    z.on('data', (chunk: Buffer) => {
      if (this.#aborted) return stop(null);
      out += chunk.length;
      if (out > this.#o.maxDecompressedBytes) return stop('decompressed_too_large');
      inner.push(chunk);
      this.#heldBytes = compressed.length + inner.length;
      for (;;) {
        const f = inner.next(this.#o.maxFrameBytes);
        if (f === null) break;
        if (typeof f === 'string') return stop(f);
        let err: LumberjackError | null;
        if (f.type === LJ_WINDOW) err = this.#windowFrame(f.value);
        else if (++events > this.#o.maxCompressedEvents) err = 'compressed_too_many_events';
        else err = this.#event(f.value, f.payload!);
        if (err !== null) return stop(err);
        if (this.#aborted) return stop(null);
      }
      // the next chunk in the next turn: other sockets, timers and requests go in between
      z.pause();
      setImmediate(() => {
        if (!this.#aborted) z.resume();
      });
    });
    z.on('end', () => {
      if (this.#aborted) return;
      if (inner.length > 0) return this.#fail('bad_compressed_frame'); // a frame cut at the end
      this.#heldBytes = 0;
      this.#setBusy(false);
      this.#run();
    });
    z.on('error', () => {
      if (!this.#aborted) this.#fail('bad_compressed_frame');
    });
    z.end(compressed);
  }

  #event(seq: number, payload: Buffer): LumberjackError | null {
    if (++this.#inWindow > this.#window) return 'window_exceeded';
    this.#h.event(seq, payload);
    return null;
  }

  #windowFrame(size: number): LumberjackError | null {
    if (size > this.#o.maxWindowEvents) return 'window_too_large';
    this.#window = size;
    this.#inWindow = 0;
    this.#h.window(size);
    return null;
  }

  /** Consumes the `#need` bytes at `at` (every state but COMPRESSED_BODY). */
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
      case WINDOW:
        this.#to(HEADER, 2);
        return this.#windowFrame(b.readUInt32BE(at));
      case JSON_HEADER: {
        this.#seq = b.readUInt32BE(at);
        const length = b.readUInt32BE(at + 4);
        if (length > this.#o.maxFrameBytes) return 'frame_too_large';
        if (length > 0) {
          this.#to(JSON_BODY, length);
          return null;
        }
        this.#to(HEADER, 2);
        return this.#event(this.#seq, b.subarray(at, at));
      }
      case JSON_BODY: {
        const end = at + this.#need;
        this.#to(HEADER, 2);
        return this.#event(this.#seq, b.subarray(at, end));
      }
      case COMPRESSED_HEADER: {
        const length = b.readUInt32BE(at);
        if (length > this.#o.maxFrameBytes) return 'frame_too_large';
        if (length === 0) return 'bad_compressed_frame';
        this.#to(COMPRESSED_BODY, length);
        return null;
      }
      default:
        return 'bad_frame_type';
    }
  }
}

/** One frame read from inflated bytes: a window size, or a JSON frame's sequence and payload. */
interface InnerFrame {
  type: number;
  value: number;
  payload?: Buffer;
}

/**
 * The frames inside a compressed frame, read from the inflated chunks as they come: whole JSON or
 * window frames (a compressed frame inside one is refused). A frame split across chunks is joined
 * once all of it is there (one copy), so a large frame costs no repeated concatenation.
 */
class InnerFrames {
  #parts: Buffer[] = [];
  #len = 0;

  get length(): number {
    return this.#len;
  }

  push(chunk: Buffer): void {
    this.#parts.push(chunk);
    this.#len += chunk.length;
  }

  /** The next whole frame, null when more bytes are needed, or why the bytes are not frames. */
  next(maxFrameBytes: number): InnerFrame | LumberjackError | null {
    if (this.#len < 2) return null;
    const head = this.#peek(Math.min(this.#len, 10));
    if (head[0] !== LJ_VERSION) return 'bad_version';
    const type = head[1];
    if (type === LJ_WINDOW) {
      if (this.#len < 6) return null;
      const b = this.#take(6);
      return { type, value: b.readUInt32BE(2) };
    }
    if (type !== LJ_JSON) return 'bad_frame_type';
    if (head.length < 10) return null;
    const length = head.readUInt32BE(6);
    if (length > maxFrameBytes) return 'frame_too_large';
    if (this.#len < 10 + length) return null;
    const b = this.#take(10 + length);
    return { type, value: b.readUInt32BE(2), payload: b.subarray(10) };
  }

  /** The first `n` bytes, without consuming them. */
  #peek(n: number): Buffer {
    const first = this.#parts[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const few: Buffer[] = [];
    let got = 0;
    for (const p of this.#parts) {
      few.push(p);
      got += p.length;
      if (got >= n) break;
    }
    return Buffer.concat(few, got).subarray(0, n);
  }

  #take(n: number): Buffer {
    const first = this.#parts[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#parts.shift();
      else this.#parts[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.#parts, this.#len);
      out = all.subarray(0, n);
      this.#parts = all.length > n ? [all.subarray(n)] : [];
    }
    this.#len -= n;
    return out;
  }
}
