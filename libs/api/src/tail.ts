import type { WebSocket } from '@fastify/websocket';
import type { LoggerLike, NormalizedEvent } from '@siem/core';
import { counter, gauge } from '@siem/observability';
import type { KeyRevocation, Principal } from './auth.js';

const metrics = {
  clients: gauge({ name: 'siem_api_tail_clients', help: 'Live tail connections open.' }),
  sent: counter({ name: 'siem_api_tail_sent_events_total', help: 'Events sent to live tail clients.' }),
  dropped: counter({
    name: 'siem_api_tail_dropped_events_total',
    help: 'Events not sent to a live tail client because its queue was full (the client is told how many).',
  }),
  revoked: counter({
    name: 'siem_api_tail_revoked_total',
    help: 'Live tail connections closed because their key no longer allows the tail, by reason.',
    labelNames: ['reason'],
  }),
};

/**
 * Close code of a tail whose key was revoked: 1008 (policy violation) is the standard code for "this
 * endpoint's policy no longer lets you in"; the reason text says which key and why.
 */
export const TAIL_REVOKED_CLOSE_CODE = 1008;

const REVOCATION_TEXT: Record<KeyRevocation, string> = {
  key_removed: 'the API key was removed or replaced',
  scope_removed: 'the API key lost the tail scope',
  tenant_changed: 'the API key is bound to another tenant now',
  keys_required: 'API keys are configured now: connect with a key',
};

export interface TailOptions {
  /** Events waiting for one client at most. */
  queueEvents: number;
  /** Events in one message at most. */
  batchEvents: number;
  /** Bytes written to a client's socket and not yet taken by the kernel before sending pauses. */
  maxBufferedBytes: number;
  maxClients: number;
  logger: LoggerLike;
  /** Ping interval; a client that did not answer the previous ping is disconnected. */
  pingMs?: number;
}

export interface TailClientStats {
  id: number;
  key: string;
  queued: number;
  sent: number;
  dropped: number;
  bufferedBytes: number;
}

/** A run of events the client did not get, at its place in the stream. */
interface DropMark {
  count: number;
}

/**
 * One tail client. Its queue holds at most `queueEvents` events (serialized once per event and shared
 * between clients) plus at most one drop mark after each of them; what arrives beyond that is dropped
 * for this client only and counted in a mark, sent to the client in order as
 * `{"type":"dropped","count":n}`. Sending stops while the socket holds more than `maxBufferedBytes`
 * unwritten bytes and resumes from the write callback, so a client that does not read costs at most its
 * queue plus that many bytes, never more.
 */
class TailClient {
  readonly id: number;
  readonly principal: Principal;
  readonly #ws: WebSocket;
  readonly #match: (e: NormalizedEvent) => boolean;
  readonly #o: TailOptions;
  readonly #items: Array<string | DropMark> = [];
  #head = 0;
  #events = 0;
  #sent = 0;
  #dropped = 0;
  #pumping = false;
  alive = true;

  constructor(
    id: number,
    principal: Principal,
    ws: WebSocket,
    match: (e: NormalizedEvent) => boolean,
    o: TailOptions,
  ) {
    this.id = id;
    this.principal = principal;
    this.#ws = ws;
    this.#match = match;
    this.#o = o;
  }

  get queued(): number {
    return this.#events;
  }

  stats(): TailClientStats {
    return {
      id: this.id,
      key: this.principal.id,
      queued: this.#events,
      sent: this.#sent,
      dropped: this.#dropped,
      bufferedBytes: this.#ws.bufferedAmount,
    };
  }

  offer(rows: readonly NormalizedEvent[], json: (i: number) => string): void {
    let added = false;
    let dropped = 0;
    for (let i = 0; i < rows.length; i++) {
      if (!this.#match(rows[i]!)) continue;
      if (this.#events >= this.#o.queueEvents) {
        dropped++;
        continue;
      }
      if (dropped > 0) {
        this.#mark(dropped);
        dropped = 0;
      }
      this.#items.push(json(i));
      this.#events++;
      added = true;
    }
    if (dropped > 0) this.#mark(dropped);
    if (added || dropped > 0) this.pump();
  }

  #mark(n: number): void {
    this.#dropped += n;
    metrics.dropped.inc(n);
    const last = this.#items[this.#items.length - 1];
    if (last !== undefined && typeof last !== 'string' && this.#items.length > this.#head) last.count += n;
    else this.#items.push({ count: n });
  }

  /** Sends queued messages while the socket takes them. */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#head < this.#items.length && this.#ws.readyState === 1) {
        if (this.#ws.bufferedAmount >= this.#o.maxBufferedBytes) return; // the write callback resumes
        const first = this.#items[this.#head]!;
        let message: string;
        if (typeof first !== 'string') {
          this.#head++;
          message = `{"type":"dropped","count":${first.count},"total":${this.#dropped}}`;
        } else {
          const parts: string[] = [];
          while (parts.length < this.#o.batchEvents && this.#head < this.#items.length) {
            const item = this.#items[this.#head]!;
            if (typeof item !== 'string') break;
            parts.push(item);
            this.#head++;
          }
          this.#events -= parts.length;
          this.#sent += parts.length;
          metrics.sent.inc(parts.length);
          message = `{"type":"events","events":[${parts.join(',')}]}`;
        }
        this.#compact();
        this.#ws.send(message, (err) => {
          if (err === undefined || err === null) this.pump();
        });
      }
    } finally {
      this.#pumping = false;
    }
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Called every ping interval: a client that missed the previous pong is gone. */
  heartbeat(): void {
    if (!this.alive) {
      this.#ws.terminate();
      return;
    }
    this.alive = false;
    this.#ws.ping();
  }

  release(): void {
    this.#items.length = 0;
    this.#head = 0;
    this.#events = 0;
  }

  /** Stops the stream at once: nothing queued is sent after the close frame. */
  revoke(reason: KeyRevocation): void {
    this.release();
    this.#ws.close(TAIL_REVOKED_CLOSE_CODE, `revoked: ${REVOCATION_TEXT[reason]}`);
  }
}

/**
 * The live tail: WebSocket clients, each with its filter, fed with the rows the storage writer has
 * stored (`publish`, wired to the normalizing sink's onStored). `publish` never blocks and never
 * throws: each row is serialized at most once however many clients want it.
 */
export class TailHub {
  readonly #o: TailOptions;
  readonly #clients = new Set<TailClient>();
  readonly #pinger: NodeJS.Timeout;
  #nextId = 1;

  constructor(o: TailOptions) {
    this.#o = o;
    metrics.clients.set(0);
    this.#pinger = setInterval(() => this.#ping(), o.pingMs ?? 30_000);
    this.#pinger.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  get full(): boolean {
    return this.#clients.size >= this.#o.maxClients;
  }

  /** Starts feeding a connected socket; the returned stats follow it until it closes. */
  add(
    ws: WebSocket,
    principal: Principal,
    match: (e: NormalizedEvent) => boolean,
    hello: Record<string, unknown>,
  ): number {
    const c = new TailClient(this.#nextId++, principal, ws, match, this.#o);
    this.#clients.add(c);
    metrics.clients.set(this.#clients.size);
    const gone = () => {
      if (!this.#clients.delete(c)) return;
      c.release();
      metrics.clients.set(this.#clients.size);
    };
    ws.on('close', gone);
    ws.on('error', gone);
    ws.on('pong', () => {
      c.alive = true;
    });
    // Clients only listen; anything they send is ignored (the socket's maxPayload bounds it).
    ws.send(
      JSON.stringify({
        type: 'hello',
        queue_events: this.#o.queueEvents,
        batch_events: this.#o.batchEvents,
        ...hello,
      }),
    );
    return c.id;
  }

  publish(rows: readonly NormalizedEvent[]): void {
    if (this.#clients.size === 0 || rows.length === 0) return;
    const cache: Array<string | undefined> = new Array(rows.length);
    const json = (i: number) => {
      let s = cache[i];
      if (s === undefined) {
        s = JSON.stringify(rows[i]);
        cache[i] = s;
      }
      return s;
    };
    for (const c of this.#clients) {
      try {
        c.offer(rows, json);
      } catch (err) {
        this.#o.logger.warn(
          { client: c.id, err: err instanceof Error ? err.message : String(err) },
          'tail client failed',
        );
      }
    }
  }

  /**
   * Closes every tail whose key `verdict` no longer accepts (called when the API keys change): a key
   * removed from the keys file must not keep streaming on a socket it opened before. Returns how many
   * were closed.
   */
  revoke(verdict: (p: Principal) => KeyRevocation | null): number {
    let closed = 0;
    for (const c of this.#clients) {
      const reason = verdict(c.principal);
      if (reason === null) continue;
      this.#clients.delete(c);
      c.revoke(reason);
      metrics.revoked.inc({ reason });
      this.#o.logger.info({ client: c.id, key: c.principal.id, reason }, 'live tail closed: key revoked');
      closed++;
    }
    if (closed > 0) metrics.clients.set(this.#clients.size);
    return closed;
  }

  stats(): TailClientStats[] {
    return [...this.#clients].map((c) => c.stats());
  }

  close(): void {
    clearInterval(this.#pinger);
  }

  #ping(): void {
    for (const c of this.#clients) c.heartbeat();
  }
}
