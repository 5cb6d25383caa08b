import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import {
  type BufferRecord,
  type OfferResult,
  SiemError,
  type SourceContext,
  type TlsIdentity,
} from '@siem/core';
import type { StreamAck } from './ack.js';
import { Listener, listenUrl, normalizePeer } from './listener.js';
import type { ListenerMetrics } from './listener-metrics.js';
import type { ConnectionOptions, TlsServerOptions } from './options.js';
import { pendingBytesBudget } from './pending-bytes.js';
import { clientIdentity, TlsMaterial } from './tls-material.js';

/** The options a stream listener reads (a subset of each listener's schema). */
export interface StreamListenerOptions extends ConnectionOptions {
  host: string;
  port: number;
  tenant?: string;
  reuse_port: boolean;
}

/** How a stream listener's TLS is set up: its options, and where they sit in the configuration. */
export interface StreamListenerTls {
  options: TlsServerOptions;
  /** The key path of the TLS options in the adapter's configuration (`''`, `'tls.'`), for errors. */
  keyPrefix: string;
}

/** Why a connection ended, for the reasons every stream listener has (bounded: a metric label). */
export type StreamCloseReason = 'normal' | 'error' | 'idle_timeout' | 'shutdown' | 'memory_budget';

/** What the stream listener keeps of every connection; a listener adds its own state (framer, …). */
export interface StreamConnection<R extends string = StreamCloseReason> {
  socket: Socket;
  /** The peer address, IPv4 peers of a dual-stack socket in their IPv4 form. */
  peer: string;
  closeReason: R | StreamCloseReason | null;
  /** The connection's framer, if it has one: its pending bytes count against the memory budget. */
  framer?: { readonly pendingBytes: number } | null;
  /** The connection's ACK hook, if its protocol acknowledges: released on resume and before closing. */
  ack?: StreamAck<unknown> | null;
  /** Durable offers of this connection still being written (offerAckedDurable keeps their ACKs in order). */
  durable?: Promise<void> | null;
}

/**
 * A listener on one TCP (or TLS) port — the reference implementation the syslog TCP/TLS listener and
 * the Windows events listener are made of. It owns the server, the TLS material (reloaded when the files
 * change), the connection limit, keepalive and idle timeout, counting every connection opened and
 * closed (by reason), backpressure and the orderly stop. What a connection's bytes mean is the
 * subclass's: it makes the connection's state (`connection`), reads its chunks (`onData`) and passes on
 * what is left when the peer ends it (`ended`) or the listener stops (`drain`). `R`: the listener's own
 * reasons for closing a connection.
 *
 * Backpressure: when the intake answers `pause` to an offer, every socket of the listener is paused
 * (new ones start paused) until the intake's resume callback; the paused time is counted. A protocol
 * that acknowledges (`StreamConnection.ack`, see `ack.ts`) offers through `offerAcked`: its ACKs are
 * held during the pause and released, before the socket resumes, when it ends — and before a
 * connection closes at stop.
 *
 * Fair turns: a connection reads one chunk per turn of the event loop. After a chunk it is paused and
 * resumed in the check phase of the same turn, with every other connection that read one. Without this,
 * libuv reads up to 32 chunks of 64 KiB from each readable socket in one go, so a burst on a few
 * connections held the loop for 100–200 ms per turn: the producer's delivery rounds, which need a few
 * turns each, the API and the health checks all waited that long (bench/results/gateway-comparison.md).
 */
export abstract class StreamListener<
  R extends string,
  C extends StreamConnection<R>,
  M extends ListenerMetrics = ListenerMetrics,
> extends Listener<M> {
  readonly #o: StreamListenerOptions;
  readonly #tls: StreamListenerTls | null;
  #server: Server | TlsServer | null = null;
  #material: TlsMaterial | null = null;
  /** The open connections. */
  protected readonly connections = new Set<C>();
  #paused = false;
  #pausedAt = 0;
  /** Sockets paused after reading their chunk of this turn, resumed by `#turnEnd`. */
  #turnPaused: Socket[] = [];
  #turnEndScheduled = false;
  #unsubscribeResume: (() => void) | null = null;
  /** How long a closing connection may take to flush what was written to it; 0: destroyed at once. */
  protected closeGraceMs = 0;
  /** Open connections (handshakes included) per source address, for max_connections_per_address. */
  readonly #perAddress = new Map<string, number>();
  /** Raw sockets refused for their address (a TLS server reports their reset as a handshake error). */
  readonly #refused = new WeakSet<object>();
  #budgetShare = 0;

  constructor(
    name: string,
    type: string,
    label: string,
    options: StreamListenerOptions,
    tls: StreamListenerTls | null,
    context: SourceContext,
    metrics: M,
  ) {
    super(name, type, label, options.tenant, context, metrics);
    this.#o = options;
    this.#tls = tls;
  }

  /** The connection's state, made when it is accepted (`identity`: the verified TLS client). */
  protected abstract connection(socket: Socket, peer: string, identity: TlsIdentity | null): C;
  /** A chunk the connection read. */
  protected abstract onData(conn: C, chunk: Buffer): void;
  /** The peer ended the connection: pass on what was read. */
  protected abstract ended(conn: C): void;
  /** The listener stops: pass on what the connection read. */
  protected abstract drain(conn: C): void;

  /** Bytes the connection holds for frames not yet whole (counted against the process budget). */
  protected pendingBytes(conn: C): number {
    return conn.framer?.pendingBytes ?? 0;
  }

  /** More fields for the "started" log line. */
  protected startedFields(): Record<string, unknown> {
    return {};
  }

  /** The transport of this listener's events: tcp or tls. */
  protected get transport(): 'tcp' | 'tls' {
    return this.#tls === null ? 'tcp' : 'tls';
  }

  /** Whether the listener holds its sockets paused (tests, status). */
  get paused(): boolean {
    return this.#paused;
  }

  async start(): Promise<void> {
    this.beginStart();
    const o = this.#o;
    const reusePort = this.warnReusePort(o.reuse_port);
    let server: Server | TlsServer;
    try {
      server = this.#tls === null ? this.#tcpServer() : this.#tlsServer(this.#tls);
    } catch (err) {
      throw this.failStart(err, `${o.host}:${o.port}`);
    }
    server.maxConnections = o.max_connections;
    // before anything else sees the socket (the TLS server's handshake included)
    server.prependListener('connection', (socket: Socket) => this.#admit(socket));
    server.on('drop', (data) => {
      this.metrics.connectionClosed('connection_limit');
      this.log.warn(
        'connection_limit',
        { peer: data?.remoteAddress, limit: o.max_connections },
        `${this.label} connection refused: max_connections reached`,
      );
    });
    server.on('error', (err) => this.log.error('server', { err }, `${this.label} server error`));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(
          {
            host: o.host,
            port: o.port,
            exclusive: true,
            backlog: 1024,
            ...(reusePort ? { reusePort: true } : {}),
          },
          () => {
            server.off('error', reject);
            resolve();
          },
        );
      });
    } catch (err) {
      this.#material?.close();
      this.#material = null;
      throw this.failStart(err, `${o.host}:${o.port}`);
    }
    this.#server = server;
    this.#budgetShare = o.max_pending_bytes;
    pendingBytesBudget.addCapacity(this.#budgetShare);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : o.port;
    this.listening = listenUrl(this.transport, o.host, port);
    this.state = 'running';
    this.logger.info(
      { listen: this.listening, ...this.startedFields() },
      `${this.label} stream listener started`,
    );
  }

  #tcpServer(): Server {
    const o = this.#o;
    return createTcpServer(
      { keepAlive: o.keepalive, keepAliveInitialDelay: o.keepalive_initial_delay_ms, noDelay: true },
      (socket) => this.#accept(socket, null),
    );
  }

  #tlsServer({ options: t, keyPrefix }: StreamListenerTls): TlsServer {
    const o = this.#o;
    if (t.cert_file === undefined || t.key_file === undefined) {
      throw new SiemError(
        'SIEM_ERR_TLS_MATERIAL',
        `${this.name}: TLS needs ${keyPrefix}cert_file and ${keyPrefix}key_file`,
      );
    }
    if (t.client_auth !== 'none' && t.ca_file === undefined) {
      // Against the system CAs any certificate a public CA issued to anybody would pass as a sender.
      throw new SiemError(
        'SIEM_ERR_TLS_MATERIAL',
        `${this.name}: ${keyPrefix}client_auth ${t.client_auth} needs ${keyPrefix}ca_file, the CA that client certificates must chain to`,
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
          this.metrics.tlsReload(true);
          this.logger.info({ cert: t.cert_file }, 'TLS certificate reloaded');
        },
        failed: (err) => {
          this.metrics.tlsReload(false);
          this.log.warn(
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
    server.on('secureConnection', (socket: TLSSocket) => this.#acceptTls(socket, t));
    server.on('tlsClientError', (err, socket) => {
      // a socket refused for its address was counted as such already (the TLS socket wraps it)
      if (this.#refused.has((socket as unknown as { _parent?: object })._parent ?? socket)) return;
      this.metrics.connectionClosed('tls_handshake');
      this.log.warn(
        'tls_handshake',
        { err: err.message, peer: normalizePeer(socket.remoteAddress) },
        'TLS handshake failed',
      );
    });
    material.watch(t.reload_check_interval_ms);
    return server;
  }

  #acceptTls(socket: TLSSocket, t: TlsServerOptions): void {
    let identity: TlsIdentity | null = null;
    if (t.client_auth !== 'none') {
      identity = clientIdentity(socket);
      if (identity !== null && !socket.authorized) {
        // optional client auth: no certificate is fine, a certificate that does not verify is not
        this.metrics.connectionClosed('tls_client_cert_rejected');
        this.log.warn(
          'tls_client_cert',
          { peer: normalizePeer(socket.remoteAddress), reason: String(socket.authorizationError) },
          'client certificate rejected',
        );
        socket.destroy();
        return;
      }
    }
    this.#accept(socket, identity);
  }

  /** Counts the connection under its address, or refuses it when the address has too many. */
  #admit(socket: Socket): void {
    const peer = normalizePeer(socket.remoteAddress);
    const open = this.#perAddress.get(peer) ?? 0;
    if (open >= this.#o.max_connections_per_address) {
      this.#refused.add(socket);
      this.metrics.connectionClosed('address_limit');
      this.log.warn(
        'address_limit',
        { peer, limit: this.#o.max_connections_per_address },
        `${this.label} connection refused: max_connections_per_address reached for this address`,
      );
      socket.destroy();
      return;
    }
    this.#perAddress.set(peer, open + 1);
    socket.once('close', () => {
      const n = (this.#perAddress.get(peer) ?? 1) - 1;
      if (n <= 0) this.#perAddress.delete(peer);
      else this.#perAddress.set(peer, n);
    });
  }

  #accept(socket: Socket, identity: TlsIdentity | null): void {
    if (socket.destroyed) return; // refused for its address
    const o = this.#o;
    const conn = this.connection(socket, normalizePeer(socket.remoteAddress), identity);
    this.connections.add(conn);
    this.metrics.connectionOpened();
    if (o.keepalive) socket.setKeepAlive(true, o.keepalive_initial_delay_ms);
    if (o.idle_timeout_ms > 0) {
      socket.setTimeout(o.idle_timeout_ms);
      socket.on('timeout', () => this.close(conn, 'idle_timeout'));
    }
    // made once per connection: the budget keeps it to close this connection when it must
    const overBudget = () => this.close(conn, 'memory_budget');
    socket.on('data', (chunk: Buffer) => this.#read(conn, chunk, overBudget));
    socket.on('end', () => {
      this.ended(conn);
      conn.closeReason ??= 'normal';
      socket.end();
    });
    socket.on('error', (err) => {
      conn.closeReason ??= 'error';
      this.log.info('socket_error', { err: err.message, peer: conn.peer }, `${this.label} connection error`);
    });
    socket.on('close', () => {
      pendingBytesBudget.release(conn);
      this.connections.delete(conn);
      this.metrics.connectionGone();
      this.metrics.connectionClosed(conn.closeReason ?? 'normal');
    });
    if (this.#paused) this.#hold(socket);
  }

  /**
   * A socket waiting for the intake's resume: paused, and its idle timer off — the sender is not idle,
   * this side stopped reading, and a connection closed then would lose what it sent and was read.
   */
  #hold(socket: Socket): void {
    socket.pause();
    if (this.#o.idle_timeout_ms > 0) socket.setTimeout(0);
  }

  /** One chunk of a connection: passed on, then the socket rests until the end of this turn. */
  #read(conn: C, chunk: Buffer, overBudget: () => void): void {
    this.onData(conn, chunk);
    if (conn.closeReason === null) pendingBytesBudget.set(conn, this.pendingBytes(conn), overBudget);
    const socket = conn.socket;
    // paused already: the intake asked for a pause (every socket waits for its resume), or closed
    if (socket.destroyed || socket.isPaused()) return;
    socket.pause();
    this.#turnPaused.push(socket);
    if (!this.#turnEndScheduled) {
      this.#turnEndScheduled = true;
      setImmediate(this.#turnEnd);
    }
  }

  /** The check phase of a turn in which connections read: they may read again in the next one. */
  readonly #turnEnd = (): void => {
    this.#turnEndScheduled = false;
    const sockets = this.#turnPaused;
    this.#turnPaused = [];
    // During an intake pause every socket waits for #resumeAll. A closing socket is resumed too, so
    // the peer's FIN is read and it closes at once rather than at the end of its grace period.
    if (this.#paused) return;
    for (const s of sockets) if (!s.destroyed) s.resume();
  };

  /** Offers a batch; `pause` pauses every socket of the listener. */
  protected override offer(records: BufferRecord[]): OfferResult {
    const r = super.offer(records);
    if (r === 'pause') this.#pauseAll();
    return r;
  }

  /**
   * Offers a batch of a connection that acknowledges, then acknowledges `position` (null: nothing new
   * to acknowledge) through `ack` — at once, or held while the listener is paused. On `rejected`
   * nothing of the batch is acknowledged and what was held is released; the caller closes the
   * connection, so the peer sends the batch again.
   */
  protected offerAcked<P>(ack: StreamAck<P>, records: BufferRecord[], position: P | null): OfferResult {
    const r = this.offer(records);
    if (r === 'rejected') ack.release();
    else if (position !== null) ack.taken(position, this.#paused);
    return r;
  }

  /**
   * `ack: durable`: like offerAcked, but `position` is acknowledged only once the intake has the batch
   * on disk and synced (Intake.offerDurable), so an ACKed event survives a SIGKILL or a power loss
   * right after. A connection's ACKs stay in the order of its batches. On `rejected` (or an intake
   * that cannot make events durable) nothing of the batch is acknowledged, what was held is
   * released, and `onRejected` closes the connection so the peer sends the batch again.
   */
  protected offerAckedDurable<P>(
    conn: C,
    ack: StreamAck<P>,
    records: BufferRecord[],
    position: P | null,
    onRejected: () => void,
  ): void {
    const offered = this.offerDurable(records);
    const previous = conn.durable ?? Promise.resolve();
    conn.durable = previous
      .then(() => offered)
      .then((r) => {
        if (r === 'pause') this.#pauseAll();
        if (r === 'rejected') {
          ack.release();
          onRejected();
        } else if (position !== null && conn.closeReason === null) ack.taken(position, this.#paused);
      });
  }

  /**
   * Closes one connection for a reason (counted when it is gone): destroyed at once, or — with
   * `closeGraceMs` — ended, so what was written to it drains, and destroyed after the grace period.
   */
  protected close(conn: C, reason: R | StreamCloseReason): void {
    if (conn.closeReason === null) {
      conn.closeReason = reason;
      // The frame being read goes with the connection: one event discarded by a configured limit
      // (the memory budget), so intentional, as a rate limit is.
      if (reason === 'memory_budget') this.metrics.discard(reason, true);
    }
    if (reason !== 'shutdown') {
      this.log.warn(`close:${reason}`, { peer: conn.peer, reason }, `closing ${this.label} connection`);
    }
    const s = conn.socket;
    // over the memory budget: the socket goes at once, so its unread bytes are not read for the grace
    if (this.closeGraceMs <= 0 || reason === 'memory_budget') {
      s.destroy();
      return;
    }
    if (s.destroyed) return;
    s.end();
    setTimeout(() => s.destroy(), this.closeGraceMs).unref();
  }

  /**
   * The connection's bytes cannot be read on (a lying octet count, a frame over max_frame_bytes, a
   * broken Lumberjack stream): counted as an error of the receiving stage, the connection closed.
   */
  protected protocolError(conn: C, reason: R | StreamCloseReason): void {
    if (conn.closeReason === null) this.metrics.component.error(reason, 'receiving');
    this.close(conn, reason);
  }

  /** The listener paused its sockets (the buffer asked it to). */
  protected onPause(): void {}

  /** The pause ended (resumed or stopped). */
  protected onPauseEnd(): void {}

  /** Resumes one connection after a pause (its held ACKs are released before). */
  protected resumeConnection(conn: C): void {
    conn.socket.resume();
  }

  #pauseAll(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#pausedAt = Date.now();
    for (const c of this.connections) this.#hold(c.socket);
    this.logger.info(
      { connections: this.connections.size },
      `buffer asked to pause: ${this.label} sockets paused`,
    );
    this.#unsubscribeResume = this.intake.onResume(() => this.#resumeAll());
    this.onPause();
  }

  #endPause(): number {
    const ms = Date.now() - this.#pausedAt;
    this.#paused = false;
    this.metrics.paused(ms);
    const unsubscribe = this.#unsubscribeResume;
    this.#unsubscribeResume = null;
    unsubscribe?.();
    this.onPauseEnd();
    return ms;
  }

  #resumeAll(): void {
    if (!this.#paused) return;
    const ms = this.#endPause();
    this.logger.info({ pausedMs: ms }, `buffer resumed: ${this.label} sockets resumed`);
    for (const c of this.connections) {
      c.ack?.release();
      if (this.#o.idle_timeout_ms > 0 && !c.socket.destroyed) c.socket.setTimeout(this.#o.idle_timeout_ms);
      this.resumeConnection(c);
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.#material?.close();
    this.#material = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const gone = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.socket.closed ? resolve() : c.socket.once('close', () => resolve()),
        ),
    );
    for (const conn of this.connections) {
      // A paused socket may hold a chunk it read ahead (up to its highWaterMark): read() hands it to
      // #read like any 'data' event. Then what was read is passed on, not lost.
      while (!conn.socket.destroyed && conn.socket.read() !== null);
      this.drain(conn);
      // what the buffer took is acknowledged: it keeps it across the restart
      conn.ack?.release();
      this.close(conn, 'shutdown');
    }
    if (this.#paused) this.#endPause();
    await Promise.all([closed, ...gone]);
    this.#server = null;
    pendingBytesBudget.removeCapacity(this.#budgetShare);
    this.#budgetShare = 0;
    this.listening = null;
    this.state = 'stopped';
    this.logger.info({}, `${this.label} stream listener stopped`);
  }
}
