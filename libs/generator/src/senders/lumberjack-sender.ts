import { once } from 'node:events';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import type { GeneratedEvent } from '../generator.js';
import type { Tally } from '../tally.js';
import type { ClientTls, Sender, Target } from './sender.js';
import { openStream } from './stream-sender.js';

const deflateAsync = promisify(deflate) as (buf: Buffer, options: { level: number }) => Promise<Buffer>;

const VERSION = 0x32; // '2'
const WINDOW = 0x57; // 'W'
const JSON_FRAME = 0x4a; // 'J'
const COMPRESSED = 0x43; // 'C'
const ACK = 0x41; // 'A'

export interface LumberjackSenderOptions {
  /** Events per window (Winlogbeat's bulk_max_size, 2048 by default). */
  windowSize: number;
  /** zlib level of the compressed frame (Winlogbeat's compression_level, 3 by default); 0: plain JSON frames. */
  compression: number;
  /** How long to wait for an ACK (a keepalive ACK of 0 restarts the wait), as libbeat's timeout. */
  ackTimeoutMs: number;
}

/** The JSON frames of a window, sequence numbers 1 … n (libbeat's numbering). */
export function jsonFrames(batch: readonly GeneratedEvent[]): Buffer {
  const bodies = batch.map((e) => Buffer.from(e.text, 'utf8'));
  let size = 0;
  for (const b of bodies) size += 10 + b.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i]!;
    out[at] = VERSION;
    out[at + 1] = JSON_FRAME;
    out.writeUInt32BE(i + 1, at + 2);
    out.writeUInt32BE(b.length, at + 6);
    b.copy(out, at + 10);
    at += 10 + b.length;
  }
  return out;
}

function header(type: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = VERSION;
  b[1] = type;
  b.writeUInt32BE(value >>> 0, 2);
  return b;
}

/**
 * Winlogbeat's `output.logstash`: the Beats / Lumberjack v2 writer. Each window is a window frame,
 * then its events as JSON frames (inside one zlib-compressed frame when compression is on); the next
 * window goes once the receiver has acknowledged the last sequence number of this one. Partial ACKs
 * count the events they cover; an ACK of 0 is a keepalive. Events of a window the connection closes
 * on, or that time out, are counted refused: a real shipper would resend them.
 */
export class LumberjackSender implements Sender {
  readonly acknowledges = true;
  readonly #socket: Socket;
  readonly #tally: Tally;
  readonly #o: LumberjackSenderOptions;
  #pending = Buffer.alloc(0);
  #acked = 0;
  #onAck: (() => void) | null = null;
  #closed = false;
  #error: Error | null = null;

  private constructor(socket: Socket, tally: Tally, options: LumberjackSenderOptions) {
    this.#socket = socket;
    this.#tally = tally;
    this.#o = options;
    socket.on('data', (d: Buffer) => this.#read(d));
    socket.on('error', (err) => {
      this.#error ??= err;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#onAck?.();
    });
  }

  static async open(
    target: Target,
    tls: ClientTls | null,
    options: LumberjackSenderOptions,
    tally: Tally,
  ): Promise<LumberjackSender> {
    return new LumberjackSender(await openStream(target, tls, 'Lumberjack'), tally, options);
  }

  #read(d: Buffer): void {
    let buf = this.#pending.length === 0 ? d : Buffer.concat([this.#pending, d]);
    while (buf.length >= 6) {
      if (buf[0] !== VERSION || buf[1] !== ACK) {
        this.#error ??= new Error(
          `the receiver sent a frame that is no ACK (0x${buf[0]?.toString(16)} 0x${buf[1]?.toString(16)})`,
        );
        this.#socket.destroy();
        return;
      }
      const seq = buf.readUInt32BE(2);
      buf = buf.subarray(6);
      if (seq > this.#acked) this.#acked = seq;
      this.#onAck?.();
    }
    this.#pending = Buffer.from(buf);
  }

  async send(batch: readonly GeneratedEvent[]): Promise<void> {
    for (let at = 0; at < batch.length; at += this.#o.windowSize) {
      await this.#window(batch.slice(at, at + this.#o.windowSize));
    }
  }

  async #window(events: readonly GeneratedEvent[]): Promise<void> {
    const tally = this.#tally;
    if (this.#closed || this.#error !== null) {
      throw new Error(
        `the Lumberjack connection is closed${this.#error === null ? '' : `: ${this.#error.message}`}`,
      );
    }
    const frames = jsonFrames(events);
    const body =
      this.#o.compression > 0
        ? await deflateAsync(frames, { level: this.#o.compression }).then((z) =>
            Buffer.concat([header(COMPRESSED, z.length), z]),
          )
        : frames;
    const wire = Buffer.concat([header(WINDOW, events.length), body]);
    this.#acked = 0;
    tally.bytes += wire.length;
    for (const e of events) tally.sent[e.kind]!++;
    if (!this.#socket.write(wire)) await once(this.#socket, 'drain').catch(() => undefined);
    let counted = 0;
    const credit = (upTo: number) => {
      for (; counted < upTo && counted < events.length; counted++)
        tally.acknowledged[events[counted]!.kind]!++;
    };
    let timer: NodeJS.Timeout | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        const arm = () => {
          if (timer !== null) clearTimeout(timer);
          timer = setTimeout(
            () => reject(new Error(`no ACK within ${this.#o.ackTimeoutMs} ms`)),
            this.#o.ackTimeoutMs,
          );
        };
        this.#onAck = () => {
          credit(this.#acked);
          if (this.#acked >= events.length) resolve();
          else if (this.#closed)
            reject(new Error('the receiver closed the connection before it acknowledged the window'));
          else arm();
        };
        arm();
      });
    } catch (err) {
      tally.error(this.#closed ? 'closed_before_ack' : 'ack_timeout');
      for (let i = counted; i < events.length; i++) tally.refused[events[i]!.kind]!++;
      this.#socket.destroy();
      throw err;
    } finally {
      if (timer !== null) clearTimeout(timer);
      this.#onAck = null;
    }
  }

  async close(): Promise<void> {
    const s = this.#socket;
    if (!s.destroyed) {
      const closed = once(s, 'close').catch(() => undefined);
      s.end();
      await closed;
    }
  }
}
