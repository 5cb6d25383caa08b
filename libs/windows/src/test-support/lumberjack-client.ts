import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { deflateSync } from 'node:zlib';

/**
 * A Lumberjack v2 writer written from the protocol document (see src/fixtures/lumberjack-v2/README.md),
 * independent of the server's decoder, behaving like go-lumber's client in libbeat: a window frame with
 * the event count, then JSON frames with sequences 1…n — each on its own or all in one compressed
 * frame — and then ACKs read until one carries the last sequence (partial ACKs and keepalive ACKs of 0
 * are read past). Test support only.
 */

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

export function windowFrame(size: number): Buffer {
  return Buffer.concat([Buffer.from('2W', 'latin1'), u32(size)]);
}

export function jsonFrame(seq: number, json: string | Buffer): Buffer {
  const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  return Buffer.concat([Buffer.from('2J', 'latin1'), u32(seq), u32(body.length), body]);
}

export function compressedFrame(frames: Buffer[], level = 3): Buffer {
  const z = deflateSync(Buffer.concat(frames), { level });
  return Buffer.concat([Buffer.from('2C', 'latin1'), u32(z.length), z]);
}

/** The bytes go-lumber's Client.Send writes for one batch. */
export function encodeWindow(events: readonly (string | Buffer)[], compress: boolean): Buffer {
  const frames = events.map((e, i) => jsonFrame(i + 1, e));
  return Buffer.concat([
    windowFrame(events.length),
    compress ? compressedFrame(frames) : Buffer.concat(frames),
  ]);
}

export interface AckRecord {
  seq: number;
  at: number;
}

export class LumberjackClient {
  readonly socket: Socket;
  /** Every ACK read, in order (keepalives included). */
  readonly acks: AckRecord[] = [];
  #pending = Buffer.alloc(0);
  #waiters: {
    until: (seq: number) => boolean;
    resolve: (seq: number) => void;
    reject: (e: Error) => void;
  }[] = [];
  #closed = false;
  readonly connected: Promise<void>;

  private constructor(socket: Socket, event: 'connect' | 'secureConnect') {
    this.socket = socket;
    this.connected = new Promise((resolve, reject) => {
      socket.once(event, () => resolve());
      socket.once('error', reject);
    });
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w.reject(new Error('connection closed before the ACK'));
    });
  }

  static async tcp(port: number): Promise<LumberjackClient> {
    const c = new LumberjackClient(netConnect({ host: '127.0.0.1', port }), 'connect');
    await c.connected;
    return c;
  }

  static async tls(port: number, options: ConnectionOptions): Promise<LumberjackClient> {
    const c = new LumberjackClient(tlsConnect({ host: '127.0.0.1', port, ...options }), 'secureConnect');
    await c.connected;
    return c;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onData(d: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, d]);
    while (this.#pending.length >= 6) {
      const frame = this.#pending.subarray(0, 6);
      this.#pending = this.#pending.subarray(6);
      if (frame[0] !== 0x32 || frame[1] !== 0x41) {
        this.socket.destroy(new Error(`not an ACK frame: ${frame.toString('hex')}`));
        return;
      }
      const seq = frame.readUInt32BE(2);
      this.acks.push({ seq, at: Date.now() });
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.until(seq)) return true;
        w.resolve(seq);
        return false;
      });
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with the first ACK at or past `seq` (go-lumber AwaitACK); rejects after `timeoutMs`. */
  awaitAck(seq: number, timeoutMs = 10_000): Promise<number> {
    const seen = this.acks.find((a) => a.seq >= seq);
    if (seen !== undefined) return Promise.resolve(seen.seq);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ACK of ${seq} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        until: (s) => s >= seq,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Sends one window and waits for its ACK; clears the ACKs seen before, so each window waits anew. */
  async send(events: readonly (string | Buffer)[], compress: boolean, timeoutMs = 10_000): Promise<number> {
    this.acks.length = 0;
    this.write(encodeWindow(events, compress));
    return this.awaitAck(events.length, timeoutMs);
  }

  /** Resolves when the server closed the connection. */
  whenClosed(timeoutMs = 10_000): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not close the connection')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
