import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type BufferRecord, RawEventEncoder, type SourceContext } from '@siem/core';
import { Listener, listenUrl, normalizePeer } from '@siem/net';
import { type EventBuilder, syslogEventBuilder } from './event-builder.js';
import { SyslogListenerMetrics } from './metrics.js';
import type { SyslogUdpOptions } from './options.js';
import { findOwnUdpInode, readUdpSocketStats } from './udp-kernel-stats.js';

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const MAX_ENCODERS = 10_000;

/**
 * Syslog over UDP (RFC 5426): one datagram is one message. Datagrams that arrive in one turn of the
 * event loop are offered as one batch. UDP cannot push back: when the buffer rejects a batch its events
 * are counted as discarded; when it asks to pause, the events were taken and reading goes on. Kernel
 * drops (receive buffer full) are read from /proc/net/udp{,6} and counted beside our own numbers.
 */
export class SyslogUdpSource extends Listener<SyslogListenerMetrics> {
  readonly #o: SyslogUdpOptions;
  readonly #builder: EventBuilder;
  #socket: Socket | null = null;
  #pending: BufferRecord[] = [];
  #flushScheduled = false;
  readonly #encoders = new Map<string, RawEventEncoder>();
  #statsTimer: NodeJS.Timeout | null = null;
  #inode: string | null = null;
  #lastDrops = 0;

  constructor(name: string, options: SyslogUdpOptions, context: SourceContext) {
    super(
      name,
      'syslog_udp',
      'syslog',
      options.tenant,
      context,
      new SyslogListenerMetrics({ id: name, type: 'syslog_udp' }),
    );
    this.#o = options;
    this.#builder = syslogEventBuilder(options, context, this.tenant, this.metrics, this.log);
  }

  async start(): Promise<void> {
    this.beginStart();
    const o = this.#o;
    const reusePort = this.warnReusePort(o.reuse_port);
    const socketOptions: SocketOptions & { reusePort?: boolean } = {
      type: isIPv6(o.host) ? 'udp6' : 'udp4',
      reuseAddr: false,
      ...(reusePort ? { reusePort: true } : {}),
    };
    const socket = createSocket(socketOptions);
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: o.host, port: o.port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw this.failStart(err, `udp ${o.host}:${o.port}`);
    }
    if (o.receive_buffer_bytes > 0) {
      try {
        socket.setRecvBufferSize(o.receive_buffer_bytes);
      } catch (err) {
        this.logger.warn(
          { err, requested: o.receive_buffer_bytes },
          'cannot set the UDP receive buffer size',
        );
      }
    }
    socket.on('error', (err) => this.log.error('socket', { err }, 'UDP socket error'));
    this.#socket = socket;
    const address = socket.address();
    this.listening = listenUrl('udp', o.host, address.port);
    if (o.kernel_stats_interval_ms > 0) {
      this.#inode = findOwnUdpInode(address.port);
      if (this.#inode !== null) {
        this.#lastDrops = readUdpSocketStats(this.#inode)?.drops ?? 0;
        this.#statsTimer = setInterval(() => this.readKernelStats(), o.kernel_stats_interval_ms);
        this.#statsTimer.unref();
      }
    }
    this.state = 'running';
    this.logger.info(
      { listen: this.listening, receiveBuffer: safeRecvBufferSize(socket) },
      'syslog UDP listener started',
    );
  }

  /** Reads the kernel's counters for our socket now (also done on a timer). */
  readKernelStats(): void {
    if (this.#inode === null) return;
    const s = readUdpSocketStats(this.#inode);
    if (s === null) return;
    if (s.drops > this.#lastDrops) {
      const n = s.drops - this.#lastDrops;
      this.metrics.kernelDrops(n);
      this.log.warn(
        'kernel_drops',
        { drops: n },
        'the kernel dropped syslog datagrams (receive buffer full)',
      );
    }
    this.#lastDrops = s.drops;
    this.metrics.receiveQueue(s.rxQueueBytes);
  }

  #encoderFor(peer: string, port: number): RawEventEncoder {
    const k = `${peer}|${port}`;
    let e = this.#encoders.get(k);
    if (e === undefined) {
      if (this.#encoders.size >= MAX_ENCODERS) this.#encoders.clear();
      e = new RawEventEncoder(
        { adapter: this.name, transport: 'udp', peerAddress: peer, peerPort: port, tls: null },
        this.tenant,
      );
      this.#encoders.set(k, e);
    }
    return e;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    // a trailing line end (or NUL) is framing some senders add, not part of the message
    let end = msg.length;
    while (end > 0) {
      const b = msg[end - 1];
      if (b !== LF && b !== CR && b !== NUL) break;
      end--;
    }
    const frame = end === msg.length ? msg : msg.subarray(0, end);
    const peer = normalizePeer(rinfo.address);
    this.#builder.add(
      this.#pending,
      this.#encoderFor(peer, rinfo.port),
      peer,
      frame,
      frame.length,
      Date.now(),
    );
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const records = this.#pending;
    this.#pending = [];
    this.offer(records); // 'pause' cannot apply to UDP: the records were taken, reading goes on
  }

  async stop(): Promise<void> {
    if (this.#socket === null) {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
    this.#statsTimer = null;
    this.readKernelStats();
    const socket = this.#socket;
    this.#socket = null;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.#flush();
    this.listening = null;
    this.state = 'stopped';
    this.logger.info({}, 'syslog UDP listener stopped');
  }
}

function safeRecvBufferSize(socket: Socket): number | null {
  try {
    return socket.getRecvBufferSize();
  } catch {
    return null;
  }
}
