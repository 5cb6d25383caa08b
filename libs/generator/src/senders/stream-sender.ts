import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { GeneratedEvent } from '../generator.js';
import type { Tally } from '../tally.js';
import { type ClientTls, encodeFrames, type Framing, hostPort, type Sender, type Target } from './sender.js';

/** Opens a TCP or TLS connection and resolves once it can carry data (the handshake done). */
export async function openStream(target: Target, tls: ClientTls | null, what: string): Promise<Socket> {
  const socket =
    tls === null
      ? netConnect({ host: target.host, port: target.port })
      : tlsConnect({
          host: target.host,
          port: target.port,
          ca: tls.ca ?? undefined,
          rejectUnauthorized: !tls.insecure,
          servername: /^[\d.:]+$/.test(target.host) ? undefined : target.host,
        });
  socket.setNoDelay(false);
  try {
    await once(socket, tls === null ? 'connect' : 'secureConnect');
  } catch (err) {
    socket.destroy();
    throw new Error(`cannot connect to ${what} at ${hostPort(target)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return socket;
}

/**
 * Syslog over TCP or TLS (LF or octet-counted framing), and Windows events as newline-delimited JSON:
 * the frames of a batch in one write; when the socket's buffer is over its high-water mark the next
 * batch waits for `drain`, so a slow receiver slows the generator instead of filling its memory.
 * There is no acknowledgement: sent means handed to the kernel, and a connection that breaks stops
 * the run with its error.
 */
export class StreamSender implements Sender {
  readonly acknowledges = false;
  readonly #socket: Socket;
  readonly #tally: Tally;
  readonly #framing: Framing;
  #error: Error | null = null;

  private constructor(socket: Socket, tally: Tally, framing: Framing) {
    this.#socket = socket;
    this.#tally = tally;
    this.#framing = framing;
    socket.on('error', (err) => {
      this.#error ??= err;
    });
  }

  static async open(
    target: Target,
    tls: ClientTls | null,
    framing: Framing,
    tally: Tally,
  ): Promise<StreamSender> {
    return new StreamSender(await openStream(target, tls, tls === null ? 'TCP' : 'TLS'), tally, framing);
  }

  #check(): void {
    if (this.#error !== null) {
      this.#tally.error('connection');
      throw new Error(`the connection broke: ${this.#error.message}`, { cause: this.#error });
    }
  }

  async send(batch: readonly GeneratedEvent[]): Promise<void> {
    this.#check();
    const frames = encodeFrames(batch, this.#framing);
    this.#tally.bytes += frames.length;
    const tally = this.#tally.sent;
    for (let i = 0; i < batch.length; i++) tally[batch[i]!.kind]!++;
    if (!this.#socket.write(frames)) {
      await Promise.race([once(this.#socket, 'drain'), once(this.#socket, 'close')]).catch(() => undefined);
      this.#check();
    }
  }

  async close(): Promise<void> {
    const s = this.#socket;
    if (!s.destroyed) {
      const closed = once(s, 'close');
      s.end();
      await closed.catch(() => undefined);
    }
    this.#check();
  }
}
