import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import {
  type BufferRecord,
  RawEventEncoder,
  SiemError,
  type SourceContext,
  type TlsIdentity,
} from '@siem/core';
import { type FrameError, StreamFramer } from './framer.js';
import { listenUrl, normalizePeer, SyslogListener } from './listener.js';
import type { SyslogTcpOptions, SyslogTlsOptions } from './options.js';
import { clientIdentity, TlsMaterial } from './tls-material.js';

/** Why a connection ended (bounded: a metric label). */
export type CloseReason =
  | 'normal'
  | 'error'
  | 'idle_timeout'
  | 'shutdown'
  | FrameError
  | 'tls_client_cert_rejected';

interface Connection {
  socket: Socket;
  framer: StreamFramer;
  batch: BufferRecord[];
  receivedAt: number;
  closeReason: CloseReason | null;
}

/**
 * Syslog over TCP (RFC 6587) and TLS (RFC 5425). Each connection has its own framer (octet counting or
 * LF framing, detected on the first bytes) and its own raw-event encoder (peer, TLS identity). The
 * frames of one socket read are offered as one batch.
 *
 * Backpressure: when the intake answers `pause`, every socket of the listener is paused (new ones start
 * paused) until the intake's resume callback; the paused time is counted. A framing error (a lying
 * octet count, a frame over max_frame_bytes) closes that connection only, counted by reason.
 */
export class SyslogStreamSource extends SyslogListener {
  readonly #o: SyslogTcpOptions | SyslogTlsOptions;
  readonly #tls: SyslogTlsOptions | null;
  #server: Server | TlsServer | null = null;
  #material: TlsMaterial | null = null;
  readonly #conns = new Set<Connection>();
  #paused = false;
  #pausedAt = 0;
  #unsubscribeResume: (() => void) | null = null;

  constructor(name: string, options: SyslogTcpOptions, context: SourceContext);
  constructor(name: string, options: SyslogTlsOptions, context: SourceContext, tls: true);
  constructor(
    name: string,
    options: SyslogTcpOptions | SyslogTlsOptions,
    context: SourceContext,
    tls = false,
  ) {
    super(name, tls ? 'syslog_tls' : 'syslog_tcp', options, context);
    this.#o = options;
    this.#tls = tls ? (options as SyslogTlsOptions) : null;
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
    server.on('drop', (data) => {
      this.metrics.connectionClosed('connection_limit');
      this.log.warn(
        'connection_limit',
        { peer: data?.remoteAddress, limit: o.max_connections },
        'syslog connection refused: max_connections reached',
      );
    });
    server.on('error', (err) => this.log.error('server', { err }, 'syslog server error'));
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
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : o.port;
    this.listening = listenUrl(this.#tls === null ? 'tcp' : 'tls', o.host, port);
    this.state = 'running';
    this.logger.info({ listen: this.listening }, 'syslog stream listener started');
  }

  #tcpServer(): Server {
    const o = this.#o;
    return createTcpServer(
      { keepAlive: o.keepalive, keepAliveInitialDelay: o.keepalive_initial_delay_ms, noDelay: true },
      (socket) => this.#accept(socket, null),
    );
  }

  #tlsServer(t: SyslogTlsOptions): TlsServer {
    if (t.cert_file === undefined || t.key_file === undefined) {
      throw new SiemError('SIEM_ERR_TLS_MATERIAL', `${this.name}: TLS needs cert_file and key_file`);
    }
    if (t.client_auth !== 'none' && t.ca_file === undefined) {
      this.logger.warn(
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
    const options = material.load();
    this.#material = material;
    const server = createTlsServer({
      ...options,
      requestCert: t.client_auth !== 'none',
      rejectUnauthorized: t.client_auth === 'required',
      keepAlive: t.keepalive,
      keepAliveInitialDelay: t.keepalive_initial_delay_ms,
      noDelay: true,
      handshakeTimeout: 30_000,
    });
    server.on('secureConnection', (socket: TLSSocket) => this.#acceptTls(socket, t));
    server.on('tlsClientError', (err, socket) => {
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

  #acceptTls(socket: TLSSocket, t: SyslogTlsOptions): void {
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

  #accept(socket: Socket, identity: TlsIdentity | null): void {
    const o = this.#o;
    const peer = normalizePeer(socket.remoteAddress);
    const encoder = new RawEventEncoder(
      {
        adapter: this.name,
        transport: this.#tls === null ? 'tcp' : 'tls',
        peerAddress: peer,
        peerPort: socket.remotePort ?? null,
        tls: identity,
      },
      this.tenant,
    );
    const builder = this.builder;
    const conn: Connection = {
      socket,
      framer: null as unknown as StreamFramer,
      batch: [],
      receivedAt: Date.now(),
      closeReason: null,
    };
    conn.framer = new StreamFramer(
      {
        maxMessageBytes: o.max_message_bytes,
        maxFrameBytes: o.max_frame_bytes,
        nulDelimiter: o.nul_delimiter,
      },
      (payload, size) => builder.add(conn.batch, encoder, peer, payload, size, conn.receivedAt),
    );
    this.#conns.add(conn);
    this.metrics.connectionOpened();
    if (o.keepalive) socket.setKeepAlive(true, o.keepalive_initial_delay_ms);
    if (o.idle_timeout_ms > 0) {
      socket.setTimeout(o.idle_timeout_ms);
      socket.on('timeout', () => this.#close(conn, 'idle_timeout'));
    }
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('end', () => {
      conn.framer.end();
      this.#deliver(conn);
      conn.closeReason ??= 'normal';
      socket.end();
    });
    socket.on('error', (err) => {
      conn.closeReason ??= 'error';
      this.log.info('socket_error', { err: err.message, peer }, 'syslog connection error');
    });
    socket.on('close', () => {
      this.#conns.delete(conn);
      this.metrics.connectionGone();
      this.metrics.connectionClosed(conn.closeReason ?? 'normal');
    });
    if (this.#paused) socket.pause();
  }

  #onData(conn: Connection, chunk: Buffer): void {
    conn.receivedAt = Date.now();
    const err = conn.framer.push(chunk);
    this.#deliver(conn);
    if (err !== null) this.#close(conn, err);
  }

  #deliver(conn: Connection): void {
    const records = conn.batch;
    if (records.length > 0) conn.batch = [];
    if (this.offer(records) === 'pause') this.#pauseAll();
  }

  #close(conn: Connection, reason: CloseReason): void {
    if (conn.closeReason === null) conn.closeReason = reason;
    if (reason !== 'shutdown') {
      this.log.warn(
        `close:${reason}`,
        { peer: normalizePeer(conn.socket.remoteAddress), reason },
        'closing syslog connection',
      );
    }
    conn.socket.destroy();
  }

  #pauseAll(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#pausedAt = Date.now();
    for (const c of this.#conns) c.socket.pause();
    this.logger.info({ connections: this.#conns.size }, 'buffer asked to pause: syslog sockets paused');
    this.#unsubscribeResume = this.intake.onResume(() => this.#resumeAll());
  }

  #resumeAll(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const ms = Date.now() - this.#pausedAt;
    this.metrics.paused(ms);
    const unsubscribe = this.#unsubscribeResume;
    this.#unsubscribeResume = null;
    unsubscribe?.();
    this.logger.info({ pausedMs: ms }, 'buffer resumed: syslog sockets resumed');
    for (const c of this.#conns) c.socket.resume();
  }

  /** Whether the listener holds its sockets paused (tests, status). */
  get paused(): boolean {
    return this.#paused;
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
    const gone = [...this.#conns].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.socket.closed ? resolve() : c.socket.once('close', () => resolve()),
        ),
    );
    for (const conn of this.#conns) {
      conn.framer.end(); // what was read is passed on, not lost
      this.#deliver(conn);
      this.#close(conn, 'shutdown');
    }
    if (this.#paused) {
      this.metrics.paused(Date.now() - this.#pausedAt);
      this.#paused = false;
      this.#unsubscribeResume?.();
      this.#unsubscribeResume = null;
    }
    await Promise.all([closed, ...gone]);
    this.#server = null;
    this.listening = null;
    this.state = 'stopped';
    this.logger.info({}, 'syslog stream listener stopped');
  }
}
