import type { Socket } from 'node:net';
import { type BufferRecord, RawEventEncoder, type SourceContext, type TlsIdentity } from '@siem/core';
import { type FrameError, type StreamConnection, StreamFramer, StreamListener } from '@siem/net';
import { type EventBuilder, syslogEventBuilder } from './event-builder.js';
import { SyslogListenerMetrics } from './metrics.js';
import type { SyslogTcpOptions, SyslogTlsOptions } from './options.js';

/** Why a connection ended (bounded: a metric label). */
export type CloseReason =
  | 'normal'
  | 'error'
  | 'idle_timeout'
  | 'shutdown'
  | FrameError
  | 'tls_client_cert_rejected';

interface Connection extends StreamConnection<CloseReason> {
  framer: StreamFramer;
  batch: BufferRecord[];
  receivedAt: number;
}

/**
 * Syslog over TCP (RFC 6587) and TLS (RFC 5425). Each connection has its own framer (octet counting or
 * LF framing, detected on the first bytes) and its own raw-event encoder (peer, TLS identity). The
 * frames of one socket read are offered as one batch.
 *
 * Server, TLS, connection limits and backpressure are the stream listener's (@siem/net). A
 * framing error (a lying octet count, a frame over max_frame_bytes) closes that connection only,
 * counted by reason.
 */
export class SyslogStreamSource extends StreamListener<CloseReason, Connection, SyslogListenerMetrics> {
  readonly #o: SyslogTcpOptions | SyslogTlsOptions;
  readonly #builder: EventBuilder;

  constructor(name: string, options: SyslogTcpOptions, context: SourceContext);
  constructor(name: string, options: SyslogTlsOptions, context: SourceContext, tls: true);
  constructor(
    name: string,
    options: SyslogTcpOptions | SyslogTlsOptions,
    context: SourceContext,
    tls = false,
  ) {
    const type = tls ? 'syslog_tls' : 'syslog_tcp';
    super(
      name,
      type,
      'syslog',
      options,
      tls ? { options: options as SyslogTlsOptions, keyPrefix: '' } : null,
      context,
      new SyslogListenerMetrics({ id: name, type }),
    );
    this.#o = options;
    this.#builder = syslogEventBuilder(options, context, this.tenant, this.metrics, this.log);
  }

  protected connection(socket: Socket, peer: string, identity: TlsIdentity | null): Connection {
    const o = this.#o;
    const encoder = new RawEventEncoder(
      {
        adapter: this.name,
        transport: this.transport,
        peerAddress: peer,
        peerPort: socket.remotePort ?? null,
        tls: identity,
      },
      this.tenant,
    );
    const builder = this.#builder;
    const conn: Connection = {
      socket,
      peer,
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
    return conn;
  }

  protected onData(conn: Connection, chunk: Buffer): void {
    conn.receivedAt = Date.now();
    const err = conn.framer.push(chunk);
    this.#deliver(conn);
    if (err !== null) this.protocolError(conn, err);
  }

  protected ended(conn: Connection): void {
    conn.framer.end();
    this.#deliver(conn);
  }

  protected drain(conn: Connection): void {
    this.ended(conn);
  }

  #deliver(conn: Connection): void {
    const records = conn.batch;
    if (records.length > 0) conn.batch = [];
    this.offer(records);
  }
}
