import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import {
  type BufferRecord,
  type ComponentState,
  type Intake,
  type LoggerLike,
  type OfferResult,
  RawEventEncoder,
  SiemError,
  type Source,
  type SourceContext,
  type SourceStatus,
  type TlsIdentity,
} from '@siem/core';
import { type Logger, RateLimitedLog } from '@siem/observability';
import {
  clientIdentity,
  type FrameError,
  listenUrl,
  normalizePeer,
  reusePortSupported,
  StreamFramer,
  TlsMaterial,
} from '@siem/syslog';
import { WindowsEventBuilder } from './event-builder.js';
import { ackFrame, LJ_VERSION, LumberjackDecoder, type LumberjackError } from './lumberjack.js';
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

interface Connection {
  socket: Socket;
  peer: string;
  identity: TlsIdentity | null;
  protocol: 'detect' | 'ndjson' | 'lumberjack';
  framer: StreamFramer | null;
  decoder: LumberjackDecoder | null;
  encoder: RawEventEncoder | null;
  batch: BufferRecord[];
  receivedAt: number;
  closeReason: WindowsCloseReason | null;
  // Lumberjack: the current window, the sequence number to ACK once the batch is taken, and the
  // ACKs held back while the buffer asks the listener to pause (one per window, in order).
  window: number;
  inWindow: number;
  windowNo: number;
  toAck: number | null;
  held: number[];
  heldWindowNo: number;
}

/**
 * The windows_events listener: one TCP (or TLS) port for two protocols, decided per connection by its
 * first byte — '2' (0x32, the Lumberjack version byte) for Beats/Lumberjack v2, anything else (`{`, a
 * BOM, a blank line) for newline-delimited JSON — or pinned with the `protocol` option. A JSON object
 * never starts with '2', and a Lumberjack stream always does.
 *
 * NDJSON (NXLog om_tcp/om_ssl + to_json(), Fluent Bit tcp json_lines, OpenWEC): one event per line,
 * framed by syslog's StreamFramer (LF, CR LF). The events of one socket read are offered as one batch.
 *
 * Lumberjack v2 (Winlogbeat output.logstash): window, JSON and compressed frames. The events of a read
 * (and every completed window) are offered as one batch, and the ACK with the sequence number of the
 * last event is written only after the intake took them ('ok' or 'pause'). The previous window is
 * always ACKed in full before any event of the next one (a pipelining writer waits for its windows in
 * order). A `rejected` batch is not ACKed: the connection is closed and the writer sends the window
 * again, so nothing is lost and the rejection is counted.
 *
 * Backpressure: on `pause` every socket is paused (new ones start paused) and the ACKs not yet written
 * are held until the intake's resume callback, so a Lumberjack writer stops at its window; meanwhile an
 * ACK of sequence 0 every `lumberjack.keepalive_ack_interval_ms` keeps its ACK timeout from firing (as
 * Logstash does). The paused time is counted.
 *
 * Errors close only the connection they happen on, counted by reason: a line or frame over
 * max_frame_bytes, a Lumberjack frame with a wrong version or type, a window over max_window_events, a
 * compressed frame that does not inflate or inflates past max_decompressed_bytes, a stream that ends
 * inside a frame. Events read before the error are still passed on (and ACKed).
 */
export class WindowsEventsSource implements Source {
  readonly name: string;
  readonly type = 'windows_events';
  readonly #o: WindowsEventsOptions;
  readonly #logger: LoggerLike;
  readonly #log: RateLimitedLog;
  readonly #intake: Intake;
  readonly #tenant: string;
  readonly #metrics: WindowsMetrics;
  readonly #builder: WindowsEventBuilder;
  #state: ComponentState = 'stopped';
  #listening: string | null = null;
  #lastError: string | undefined;
  #server: Server | TlsServer | null = null;
  #material: TlsMaterial | null = null;
  readonly #conns = new Set<Connection>();
  #paused = false;
  #pausedAt = 0;
  #unsubscribeResume: (() => void) | null = null;
  #keepaliveTimer: NodeJS.Timeout | null = null;

  constructor(name: string, options: WindowsEventsOptions, context: SourceContext) {
    this.name = name;
    this.#o = options;
    this.#logger = context.logger.child({ adapter: name, type: this.type });
    // RateLimitedLog only calls warn/error/info(fields, message), which LoggerLike has
    this.#log = new RateLimitedLog(this.#logger as unknown as Logger);
    this.#intake = context.intake;
    this.#tenant = options.tenant ?? context.tenant;
    this.#metrics = new WindowsMetrics(name);
    this.#builder = new WindowsEventBuilder(
      { maxMessageBytes: options.max_message_bytes, keyBy: context.keyBy, tenant: this.#tenant },
      this.#metrics,
      this.#log,
    );
  }

  status(): SourceStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.#state,
      listen: this.#listening,
      counters: this.#metrics.snapshot(),
      ...(this.#lastError === undefined ? {} : { error: this.#lastError }),
    };
  }

  /** Whether the listener holds its sockets paused (tests, status). */
  get paused(): boolean {
    return this.#paused;
  }

  async start(): Promise<void> {
    if (this.#state !== 'stopped' && this.#state !== 'failed') {
      throw new SiemError(
        'SIEM_ERR_ADAPTER_STATE',
        `${this.name} is ${this.#state}; it can only start when stopped`,
      );
    }
    this.#state = 'starting';
    this.#lastError = undefined;
    const o = this.#o;
    let reusePort = o.reuse_port;
    if (reusePort && !reusePortSupported) {
      this.#logger.warn(
        { node: process.versions.node },
        'reuse_port needs Node.js 22.12 or later; listening without SO_REUSEPORT',
      );
      reusePort = false;
    }
    let server: Server | TlsServer;
    try {
      server = o.tls.enabled ? this.#tlsServer() : this.#tcpServer();
    } catch (err) {
      throw this.#failStart(err);
    }
    server.maxConnections = o.max_connections;
    server.on('drop', (data) => {
      this.#metrics.connectionClosed('connection_limit');
      this.#log.warn(
        'connection_limit',
        { peer: data?.remoteAddress, limit: o.max_connections },
        'Windows events connection refused: max_connections reached',
      );
    });
    server.on('error', (err) => this.#log.error('server', { err }, 'Windows events server error'));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(
          { host: o.host, port: o.port, exclusive: true, backlog: 1024, ...(reusePort ? { reusePort } : {}) },
          () => {
            server.off('error', reject);
            resolve();
          },
        );
      });
    } catch (err) {
      this.#material?.close();
      this.#material = null;
      throw this.#failStart(err);
    }
    this.#server = server;
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : o.port;
    this.#listening = listenUrl(o.tls.enabled ? 'tls' : 'tcp', o.host, port);
    this.#state = 'running';
    this.#logger.info({ listen: this.#listening, protocol: o.protocol }, 'Windows events listener started');
  }

  #failStart(err: unknown): SiemError {
    this.#state = 'failed';
    const e =
      err instanceof SiemError
        ? err
        : new SiemError(
            'SIEM_ERR_ADAPTER_LISTEN',
            `${this.name} cannot listen on ${this.#o.host}:${this.#o.port}: ${String(err)}`,
            { cause: err },
          );
    this.#lastError = e.message;
    this.#logger.error({ err: e }, 'Windows events listener failed to start');
    return e;
  }

  #tcpServer(): Server {
    const o = this.#o;
    return createTcpServer(
      { keepAlive: o.keepalive, keepAliveInitialDelay: o.keepalive_initial_delay_ms, noDelay: true },
      (socket) => this.#accept(socket, null),
    );
  }

  #tlsServer(): TlsServer {
    const o = this.#o;
    const t = o.tls;
    if (t.cert_file === undefined || t.key_file === undefined) {
      throw new SiemError(
        'SIEM_ERR_TLS_MATERIAL',
        `${this.name}: tls.enabled needs tls.cert_file and tls.key_file`,
      );
    }
    if (t.client_auth !== 'none' && t.ca_file === undefined) {
      this.#logger.warn(
        {},
        'client_auth without ca_file: client certificates are checked against the system CAs',
      );
    }
    const material = new TlsMaterial(
      {
        certFile: t.cert_file,
        keyFile: t.key_file,
        ...(t.ca_file === undefined ? {} : { caFile: t.ca_file }),
      },
      { minVersion: t.min_version },
      {
        changed: (options) => {
          // new connections get the new context; established ones keep theirs
          (this.#server as TlsServer | null)?.setSecureContext(options);
          this.#metrics.tlsReload(true);
          this.#logger.info({ cert: t.cert_file }, 'TLS certificate reloaded');
        },
        failed: (err) => {
          this.#metrics.tlsReload(false);
          this.#log.warn(
            'tls_reload',
            { err: err.message },
            'TLS files changed but cannot be used yet; keeping the old ones',
          );
        },
      },
    );
    const secure = material.load();
    this.#material = material;
    const server = createTlsServer({
      ...secure,
      requestCert: t.client_auth !== 'none',
      rejectUnauthorized: t.client_auth === 'required',
      keepAlive: o.keepalive,
      keepAliveInitialDelay: o.keepalive_initial_delay_ms,
      noDelay: true,
      handshakeTimeout: 30_000,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      let identity: TlsIdentity | null = null;
      if (t.client_auth !== 'none') {
        identity = clientIdentity(socket);
        if (identity !== null && !socket.authorized) {
          // optional client auth: no certificate is fine, a certificate that does not verify is not
          this.#metrics.connectionClosed('tls_client_cert_rejected');
          this.#log.warn(
            'tls_client_cert',
            { peer: normalizePeer(socket.remoteAddress), reason: String(socket.authorizationError) },
            'client certificate rejected',
          );
          socket.destroy();
          return;
        }
      }
      this.#accept(socket, identity);
    });
    server.on('tlsClientError', (err, socket) => {
      this.#metrics.connectionClosed('tls_handshake');
      this.#log.warn(
        'tls_handshake',
        { err: err.message, peer: normalizePeer(socket.remoteAddress) },
        'TLS handshake failed',
      );
    });
    material.watch(t.reload_check_interval_ms);
    return server;
  }

  #accept(socket: Socket, identity: TlsIdentity | null): void {
    const o = this.#o;
    const conn: Connection = {
      socket,
      peer: normalizePeer(socket.remoteAddress),
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
      windowNo: 0,
      toAck: null,
      held: [],
      heldWindowNo: -1,
    };
    if (o.protocol !== 'auto') this.#begin(conn, o.protocol);
    this.#conns.add(conn);
    this.#metrics.connectionOpened();
    if (o.keepalive) socket.setKeepAlive(true, o.keepalive_initial_delay_ms);
    if (o.idle_timeout_ms > 0) {
      socket.setTimeout(o.idle_timeout_ms);
      socket.on('timeout', () => this.#close(conn, 'idle_timeout'));
    }
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('end', () => this.#onEnd(conn));
    socket.on('error', (err) => {
      conn.closeReason ??= 'error';
      this.#log.info(
        'socket_error',
        { err: err.message, peer: conn.peer },
        'Windows events connection error',
      );
    });
    socket.on('close', () => {
      this.#conns.delete(conn);
      this.#metrics.connectionGone();
      this.#metrics.connectionClosed(conn.closeReason ?? 'normal');
    });
    if (this.#paused) socket.pause();
  }

  /** Sets the connection's protocol: its encoder (transport) and its framer or decoder. */
  #begin(conn: Connection, protocol: 'ndjson' | 'lumberjack'): void {
    const o = this.#o;
    conn.protocol = protocol;
    this.#metrics.protocolDetected(protocol);
    conn.encoder = new RawEventEncoder(
      {
        adapter: this.name,
        transport: protocol === 'lumberjack' ? 'lumberjack' : o.tls.enabled ? 'tls' : 'tcp',
        peerAddress: conn.peer,
        peerPort: conn.socket.remotePort ?? null,
        tls: conn.identity,
      },
      this.#tenant,
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
    conn.decoder = new LumberjackDecoder(
      {
        maxFrameBytes: o.max_frame_bytes,
        maxWindowEvents: o.lumberjack.max_window_events,
        maxDecompressedBytes: o.lumberjack.max_decompressed_bytes,
      },
      {
        window: (size) => {
          // the previous window is ACKed in full before any event of this one
          if (conn.toAck !== null || conn.batch.length > 0) this.#flushLumberjack(conn);
          conn.window = size;
          conn.inWindow = 0;
          conn.windowNo++;
        },
        event: (seq, payload) => {
          builder.add(conn.batch, encoder, conn.peer, payload, payload.length, conn.receivedAt);
          conn.toAck = seq;
          if (++conn.inWindow === conn.window) this.#flushLumberjack(conn);
        },
      },
    );
  }

  #onData(conn: Connection, chunk: Buffer): void {
    if (conn.closeReason !== null) return;
    conn.receivedAt = Date.now();
    if (conn.protocol === 'detect') this.#begin(conn, chunk[0] === LJ_VERSION ? 'lumberjack' : 'ndjson');
    if (conn.protocol === 'ndjson') {
      const err = conn.framer!.push(chunk);
      this.#deliverNdjson(conn);
      if (err !== null) this.#close(conn, err);
      return;
    }
    const err = conn.decoder!.push(chunk);
    if (conn.closeReason !== null) return; // the batch was rejected mid-chunk: already closing
    this.#flushLumberjack(conn);
    if (err !== null) this.#close(conn, err);
  }

  #onEnd(conn: Connection): void {
    if (conn.closeReason === null) {
      if (conn.protocol === 'ndjson') {
        conn.framer!.end();
        this.#deliverNdjson(conn);
      } else if (conn.protocol === 'lumberjack') {
        this.#flushLumberjack(conn);
        if (conn.decoder!.midFrame) conn.closeReason = 'truncated_frame';
      }
    }
    if (conn.closeReason === 'truncated_frame') {
      this.#log.warn(
        'close:truncated_frame',
        { peer: conn.peer, pendingBytes: conn.decoder?.pendingBytes },
        'Lumberjack stream ended inside a frame: the cut frame is dropped (its events were never ACKed)',
      );
    }
    conn.closeReason ??= 'normal';
    conn.socket.end();
  }

  /** Offers a batch (flushing the batch's metrics first); a rejection is counted per record. */
  #offer(records: BufferRecord[]): OfferResult {
    this.#metrics.flush();
    if (records.length === 0) return 'ok';
    const r = this.#intake.offer(records);
    if (r === 'rejected') {
      const reason = this.#intake.rejectReason || 'rejected';
      this.#metrics.discard(reason, records.length);
      this.#log.warn(
        `rejected:${reason}`,
        { reason, events: records.length },
        'buffer rejected Windows events',
      );
    }
    if (r === 'pause') this.#pauseAll();
    return r;
  }

  #deliverNdjson(conn: Connection): void {
    const records = conn.batch;
    if (records.length > 0) conn.batch = [];
    this.#offer(records);
  }

  /** Offers what the connection read, then ACKs it (or holds the ACK while paused). */
  #flushLumberjack(conn: Connection): void {
    if (conn.closeReason !== null) return;
    const records = conn.batch;
    if (records.length > 0) conn.batch = [];
    if (this.#offer(records) === 'rejected') {
      // not taken: no ACK, so the writer sends these events again on its next connection (what was
      // taken before, and held back by a pause, is ACKed first)
      conn.toAck = null;
      conn.decoder!.abort();
      this.#writeHeld(conn);
      this.#close(conn, 'buffer_rejected');
      return;
    }
    const seq = conn.toAck;
    if (seq === null) return;
    conn.toAck = null;
    if (!this.#paused) {
      this.#writeAck(conn, seq);
      return;
    }
    if (conn.held.length > 0 && conn.heldWindowNo === conn.windowNo) conn.held[conn.held.length - 1] = seq;
    else conn.held.push(seq);
    conn.heldWindowNo = conn.windowNo;
  }

  #writeAck(conn: Connection, seq: number): void {
    if (conn.socket.destroyed || !conn.socket.writable) return;
    conn.socket.write(ackFrame(seq));
    this.#metrics.ack(seq === 0);
  }

  #writeHeld(conn: Connection): void {
    const held = conn.held;
    conn.held = [];
    for (const seq of held) this.#writeAck(conn, seq);
  }

  /** Closes one connection: stops reading, lets written ACKs drain, destroys it after a grace period. */
  #close(conn: Connection, reason: WindowsCloseReason): void {
    if (conn.closeReason === null) conn.closeReason = reason;
    conn.decoder?.abort();
    if (reason !== 'shutdown') {
      this.#log.warn(`close:${reason}`, { peer: conn.peer, reason }, 'closing Windows events connection');
    }
    const s = conn.socket;
    if (s.destroyed) return;
    s.end();
    setTimeout(() => s.destroy(), CLOSE_GRACE_MS).unref();
  }

  #pauseAll(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#pausedAt = Date.now();
    for (const c of this.#conns) c.socket.pause();
    this.#logger.info(
      { connections: this.#conns.size },
      'buffer asked to pause: Windows event sockets paused',
    );
    this.#unsubscribeResume = this.#intake.onResume(() => this.#resumeAll());
    const every = this.#o.lumberjack.keepalive_ack_interval_ms;
    if (every > 0) {
      this.#keepaliveTimer = setInterval(() => this.#keepalive(), every);
      this.#keepaliveTimer.unref();
    }
  }

  /** ACK 0 to every Lumberjack writer that waits for us: held ACKs, or a window not read to its end. */
  #keepalive(): void {
    for (const c of this.#conns) {
      if (c.protocol !== 'lumberjack' || c.closeReason !== null) continue;
      if (c.held.length > 0 || c.inWindow < c.window || c.decoder!.midFrame) this.#writeAck(c, 0);
    }
  }

  #stopPause(): void {
    this.#paused = false;
    this.#metrics.paused(Date.now() - this.#pausedAt);
    if (this.#keepaliveTimer !== null) clearInterval(this.#keepaliveTimer);
    this.#keepaliveTimer = null;
    const unsubscribe = this.#unsubscribeResume;
    this.#unsubscribeResume = null;
    unsubscribe?.();
  }

  #resumeAll(): void {
    if (!this.#paused) return;
    const ms = Date.now() - this.#pausedAt;
    this.#stopPause();
    this.#logger.info({ pausedMs: ms }, 'buffer resumed: Windows event sockets resumed');
    for (const c of this.#conns) {
      this.#writeHeld(c);
      c.socket.resume();
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    this.#material?.close();
    this.#material = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const gone = [...this.#conns].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.socket.closed ? resolve() : c.socket.once('close', () => resolve()),
        ),
    );
    for (const conn of this.#conns) {
      // what was read is passed on, and ACKed: the buffer keeps what it took across a restart
      if (conn.closeReason === null) {
        if (conn.protocol === 'ndjson') {
          conn.framer!.end();
          this.#deliverNdjson(conn);
        } else if (conn.protocol === 'lumberjack') {
          this.#flushLumberjack(conn);
        }
      }
      this.#writeHeld(conn);
      this.#close(conn, 'shutdown');
    }
    if (this.#paused) this.#stopPause();
    await Promise.all([closed, ...gone]);
    this.#server = null;
    this.#listening = null;
    this.#state = 'stopped';
    this.#logger.info({}, 'Windows events listener stopped');
  }
}
