import type { GeneratedEvent } from '../generator.js';

/**
 * A way out for generated events: a protocol client or a file. `send` resolves when the sender can
 * take the next batch (socket backpressure, a window's ACK, requests in flight); `close` flushes,
 * waits for what is outstanding and releases the connection. Counts go to the run's Tally.
 */
export interface Sender {
  /** Whether the receiver acknowledges events (Lumberjack ACKs, HTTP 202). */
  readonly acknowledges: boolean;
  send(batch: readonly GeneratedEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface Target {
  host: string;
  port: number;
}

/** TLS client settings: trust the given CA (PEM), or none at all (`insecure`, tests and demos). */
export interface ClientTls {
  ca: Buffer | null;
  insecure: boolean;
}

export type Framing = 'lf' | 'octet-counted';

/** The events of a batch as one buffer of frames: `text\n`, or RFC 6587 octet counting `len text`. */
export function encodeFrames(batch: readonly GeneratedEvent[], framing: Framing): Buffer {
  if (framing === 'lf') {
    let s = '';
    for (let i = 0; i < batch.length; i++) s += `${batch[i]!.text}\n`;
    return Buffer.from(s, 'utf8');
  }
  let s = '';
  for (let i = 0; i < batch.length; i++) {
    const t = batch[i]!.text;
    s += `${Buffer.byteLength(t, 'utf8')} ${t}`;
  }
  return Buffer.from(s, 'utf8');
}

/** Brackets an IPv6 literal for messages and URLs. */
export function hostPort(t: Target): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
