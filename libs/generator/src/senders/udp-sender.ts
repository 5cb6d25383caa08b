import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIPv6 } from 'node:net';
import type { GeneratedEvent } from '../generator.js';
import type { Tally } from '../tally.js';
import type { Sender, Target } from './sender.js';

/** Largest UDP payload over IPv4 (65535 − 8 − 20); longer events are not sent and are counted. */
const MAX_DATAGRAM = 65_507;
/** Datagrams handed to the socket and not yet reported sent: the bound on what waits in memory. */
const MAX_IN_FLIGHT = 4096;

/**
 * Syslog over UDP, one event per datagram (RFC 5426). UDP has no acknowledgement and no flow
 * control: the run's rate is the only protection of the receiver, and what the network drops is not
 * known here (compare with the receiver's counters).
 */
export class UdpSender implements Sender {
  readonly acknowledges = false;
  readonly #socket: Socket;
  readonly #tally: Tally;
  #inFlight = 0;
  #waiter: (() => void) | null = null;
  #error: Error | null = null;

  private constructor(socket: Socket, tally: Tally) {
    this.#socket = socket;
    this.#tally = tally;
  }

  static async open(target: Target, tally: Tally): Promise<UdpSender> {
    const socket = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    socket.connect(target.port, target.host);
    await once(socket, 'connect');
    const s = new UdpSender(socket, tally);
    socket.on('error', (err) => {
      s.#error ??= err;
    });
    return s;
  }

  readonly #onSent = (err: Error | null): void => {
    this.#inFlight--;
    if (err !== null) this.#tally.error(`udp_${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    if (this.#waiter !== null && this.#inFlight <= MAX_IN_FLIGHT / 2) {
      const w = this.#waiter;
      this.#waiter = null;
      w();
    }
  };

  async send(batch: readonly GeneratedEvent[]): Promise<void> {
    if (this.#error !== null) throw new Error(`the UDP socket failed: ${this.#error.message}`);
    const tally = this.#tally;
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const buf = Buffer.from(e.text, 'utf8');
      if (buf.length > MAX_DATAGRAM) {
        tally.error('datagram_too_large');
        continue;
      }
      this.#inFlight++;
      this.#socket.send(buf, this.#onSent);
      tally.sent[e.kind]!++;
      tally.bytes += buf.length;
    }
    if (this.#inFlight > MAX_IN_FLIGHT) await new Promise<void>((resolve) => (this.#waiter = resolve));
  }

  async close(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#waiter = resolve));
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
