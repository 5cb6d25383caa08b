import type { Socket } from 'node:net';
import { type BufferRecord, RawEventEncoder, type SourceContext, type TlsIdentity } from '@siem/core';
import { type FrameError, type StreamConnection, StreamFramer, StreamListener } from '@siem/net';
import { WindowsEventBuilder } from './event-builder.js';
import { LJ_VERSION, LumberjackAck, LumberjackDecoder, type LumberjackError } from './lumberjack.js';
import { WindowsMetrics } from './metrics.js';
import type { WindowsEventsOptions } from './options.js';

/** Why a connection ended (bounded: a metric label). */
export type WindowsCloseReason =
  | 'normal'
  | 'error'
  | 'idle_timeout'
  | 'shutdown'
  | 'truncated_frame'
  | 'buffer_rejected'
  | 'tls_client_cert_rejected'
  | FrameError
  | LumberjackError;

/** How long a closing connection may take to flush its last ACKs before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

interface Connection extends StreamConnection<WindowsCloseReason> {
  identity: TlsIdentity | null;
  protocol: 'detect' | 'ndjson' | 'lumberjack';
  framer: StreamFramer | null;
  decoder: LumberjackDecoder | null;
  encoder: RawEventEncoder | null;
  batch: BufferRecord[];
  receivedAt: number;
  // Lumberjack: the current window, the sequence number to ACK once the batch is taken, and the
  // connection's ACK hook (it holds one ACK per window, in order, while the buffer asks to pause).
  window: number;
  inWindow: number;
  toAck: number | null;
  ack: LumberjackAck | null;
  /** The socket waits while a compressed frame is inflated (resumed by the decoder's idle). */
  inflating: boolean;
}

/**
 * The windows_events listener: one TCP (or TLS) port for two protocols, decided per connection by its
 * first byte — '2' (0x32, the Lumberjack version byte) for Beats/Lumberjack v2, anything else (`{`, a
 * BOM, a blank line) for newline-delimited JSON — or pinned with the `protocol` option. A JSON object
 * never starts with '2', and a Lumberjack stream always does.
 *
 * NDJSON (NXLog om_tcp/om_ssl + to_json(), Fluent Bit tcp json_lines, OpenWEC): one event per line,
 * framed by @siem/net's StreamFramer (LF, CR LF). The events of one socket read are offered as one batch.
 *
 * Lumberjack v2 (Winlogbeat output.logstash): window, JSON and compressed frames. The events of a read
 * (and every completed window) are offered as one batch, and the ACK with the sequence number of the
 * last event is written only after the intake took them ('ok' or 'pause'): `LumberjackAck`, the
 * connection's ACK hook (@siem/net's `StreamAck`), offered through `offerAcked`. The previous window is
 * always ACKed in full before any event of the next one (a pipelining writer waits for its windows in
 * order). A `rejected` batch is not ACKed: the connection is closed and the writer sends the window
 * again, so nothing is lost and the rejection is counted.
 *
 * Server, TLS, connection limits and pausing are @siem/net's stream listener's (`StreamListener`).
 *
 * Backpressure: on `pause` every socket is paused (new ones start paused) and the ACKs not yet written
 * are held until the intake's resume callback, so a Lumberjack writer stops at its window; meanwhile an
 * ACK of sequence 0 every `lumberjack.keepalive_ack_interval_ms` keeps its ACK timeout from firing (as
 * Logstash does). The paused time is counted.
 *
 * Errors close only the connection they happen on, counted by reason: a line or frame over
 * max_frame_bytes, a Lumberjack frame with a wrong version or type, a window over max_window_events,
 * more events than the window announced, a compressed frame carrying more than
 * max_events_per_compressed_frame events, a compressed frame that does not inflate or inflates past
 * max_decompressed_bytes, a stream that ends inside a frame. Events read before the error are still
 * passed on (and ACKed). Compressed frames are inflated in zlib's thread pool, not on the event loop;
 * the connection reads nothing more until the frame's events are passed on.
 */
export class WindowsEventsSource extends StreamListener<WindowsCloseReason, Connection, WindowsMetrics> {
  readonly #o: WindowsEventsOptions;
  readonly #builder: WindowsEventBuilder;
  #keepaliveTimer: NodeJS.Timeout | null = null;

  constructor(name: string, options: WindowsEventsOptions, context: SourceContext) {
    super(
      name,
      'windows_events',
      'Windows',
      options,
      options.tls.enabled ? { options: options.tls, keyPrefix: 'tls.' } : null,
      context,
      new WindowsMetrics({ id: name, type: 'windows_events' }),
    );
    this.#o = options;
    // closing lets the last ACKs written reach the shipper before the socket is destroyed
    this.closeGraceMs = CLOSE_GRACE_MS;
    this.#builder = new WindowsEventBuilder(
      {
        maxMessageBytes: options.max_message_bytes,
        maxArrayEvents: options.max_array_events,
        keyBy: context.keyBy,
        tenant: this.tenant,
      },
      this.metrics,
      this.log,
    );
  }

  protected override pendingBytes(conn: Connection): number {
    return (conn.framer?.pendingBytes ?? 0) + (conn.decoder?.pendingBytes ?? 0);
  }

  protected override startedFields(): Record<string, unknown> {
    return { protocol: this.#o.protocol };
  }

  protected connection(socket: Socket, peer: string, identity: TlsIdentity | null): Connection {
    const conn: Connection = {
      socket,
      peer,
      identity,
      protocol: 'detect',
      framer: null,
      decoder: null,
      encoder: null,
      batch: [],
      receivedAt: Date.now(),
      closeReason: null,
      window: 0,
      inWindow: 0,
      toAck: null,
      ack: null,
      inflating: false,
    };
    if (this.#o.protocol !== 'auto') this.#begin(conn, this.#o.protocol);
    return conn;
  }

  /** Sets the connection's protocol: its encoder (transport) and its framer or decoder. */
  #begin(conn: Connection, protocol: 'ndjson' | 'lumberjack'): void {
    const o = this.#o;
    conn.protocol = protocol;
    this.metrics.protocolDetected(protocol);
    conn.encoder = new RawEventEncoder(
      {
        adapter: this.name,
        transport: protocol === 'lumberjack' ? 'lumberjack' : this.transport,
        peerAddress: conn.peer,
        peerPort: conn.socket.remotePort ?? null,
        tls: conn.identity,
      },
      this.tenant,
    );
    const encoder = conn.encoder;
    const builder = this.#builder;
    if (protocol === 'ndjson') {
      conn.framer = new StreamFramer(
        { maxMessageBytes: o.max_message_bytes, maxFrameBytes: o.max_frame_bytes, nulDelimiter: false },
        (payload, size) => builder.add(conn.batch, encoder, conn.peer, payload, size, conn.receivedAt),
      );
      return;
    }
    conn.ack = new LumberjackAck(conn.socket, (keepalive) => this.metrics.ack(keepalive));
    const ack = conn.ack;
    conn.decoder = new LumberjackDecoder(
      {
        maxFrameBytes: o.max_frame_bytes,
        maxWindowEvents: o.lumberjack.max_window_events,
        maxDecompressedBytes: o.lumberjack.max_decompressed_bytes,
        maxCompressedEvents: o.lumberjack.max_events_per_compressed_frame,
      },
      {
        window: (size) => {
          // the previous window is ACKed in full before any event of this one
          if (conn.toAck !== null || conn.batch.length > 0) this.#flushLumberjack(conn);
          conn.window = size;
          conn.inWindow = 0;
          ack.window();
        },
        event: (seq, payload) => {
          builder.add(conn.batch, encoder, conn.peer, payload, payload.length, conn.receivedAt);
          conn.toAck = seq;
          if (++conn.inWindow === conn.window) this.#flushLumberjack(conn);
        },
        // what was read before the error is passed on and ACKed, then the connection closes
        error: (reason) => {
          this.#flushLumberjack(conn);
          this.protocolError(conn, reason);
        },
        idle: () => {
          this.#flushLumberjack(conn);
          if (conn.inflating) {
            conn.inflating = false;
            if (!this.paused && conn.closeReason === null) conn.socket.resume();
          }
        },
      },
    );
  }

  protected onData(conn: Connection, chunk: Buffer): void {
    if (conn.closeReason !== null) return;
    conn.receivedAt = Date.now();
    if (conn.protocol === 'detect') this.#begin(conn, chunk[0] === LJ_VERSION ? 'lumberjack' : 'ndjson');
    if (conn.protocol === 'ndjson') {
      const err = conn.framer!.push(chunk);
      this.#deliverNdjson(conn);
      if (err !== null) this.protocolError(conn, err);
      return;
    }
    const decoder = conn.decoder!;
    decoder.push(chunk);
    if (decoder.busy && conn.closeReason === null) {
      // a compressed frame is being inflated: read nothing more until its events are passed on
      conn.inflating = true;
      conn.socket.pause();
    }
  }

  protected ended(conn: Connection): void {
    const open = conn.closeReason === null;
    this.#passOn(conn);
    if (open && conn.protocol === 'lumberjack' && conn.decoder!.midFrame)
      conn.closeReason = 'truncated_frame';
    if (conn.closeReason === 'truncated_frame') {
      this.log.warn(
        'close:truncated_frame',
        { peer: conn.peer, pendingBytes: conn.decoder?.pendingBytes },
        'Lumberjack stream ended inside a frame: the cut frame is dropped (its events were never ACKed)',
      );
    }
  }

  /** What was read is passed on (and ACKed by the stream listener: the buffer keeps it across a restart). */
  protected drain(conn: Connection): void {
    this.#passOn(conn);
  }

  /** Passes on what an open connection read (a Lumberjack batch is ACKed, or its ACK held). */
  #passOn(conn: Connection): void {
    if (conn.closeReason !== null) return;
    if (conn.protocol === 'ndjson') {
      conn.framer!.end();
      this.#deliverNdjson(conn);
    } else if (conn.protocol === 'lumberjack') {
      this.#flushLumberjack(conn);
    }
  }

  #deliverNdjson(conn: Connection): void {
    const records = conn.batch;
    if (records.length > 0) conn.batch = [];
    this.offer(records);
  }

  /** Offers what the connection read, then ACKs it (or holds the ACK while paused). */
  #flushLumberjack(conn: Connection): void {
    if (conn.closeReason !== null) return;
    const records = conn.batch;
    if (records.length > 0) conn.batch = [];
    const seq = conn.toAck;
    conn.toAck = null;
    if (this.#o.ack === 'durable') {
      this.offerAckedDurable(conn, conn.ack!, records, seq, () => {
        conn.decoder!.abort();
        this.close(conn, 'buffer_rejected');
      });
      return;
    }
    if (this.offerAcked(conn.ack!, records, seq) === 'rejected') {
      // not taken: no ACK, so the writer sends these events again on its next connection (what was
      // taken before, and held back by a pause, was ACKed first)
      conn.decoder!.abort();
      this.close(conn, 'buffer_rejected');
    }
  }

  /** Closes one connection: stops reading, lets written ACKs drain, destroys it after a grace period. */
  protected override close(conn: Connection, reason: WindowsCloseReason): void {
    conn.decoder?.abort();
    super.close(conn, reason);
  }

  protected override onPause(): void {
    const every = this.#o.lumberjack.keepalive_ack_interval_ms;
    if (every > 0) {
      this.#keepaliveTimer = setInterval(() => this.#keepalive(), every);
      this.#keepaliveTimer.unref();
    }
  }

  /** ACK 0 to every Lumberjack writer that waits for us: held ACKs, or a window not read to its end. */
  #keepalive(): void {
    for (const c of this.connections) {
      if (c.protocol !== 'lumberjack' || c.closeReason !== null) continue;
      if (c.ack!.holding || c.inWindow < c.window || c.decoder!.midFrame) c.ack!.keepalive();
    }
  }

  protected override onPauseEnd(): void {
    if (this.#keepaliveTimer !== null) clearInterval(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
  }

  /** Its held ACKs were written (by the stream listener); a connection still inflating stays paused. */
  protected override resumeConnection(conn: Connection): void {
    if (!conn.inflating) super.resumeConnection(conn);
  }
}
