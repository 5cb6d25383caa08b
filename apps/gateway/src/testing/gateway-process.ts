/**
 * Test support for the gateway's integration tests: the real `siem serve --role gateway` process (the
 * role harness of @siem/local-stack) with its own data folder, ports and topics, and a TCP syslog client
 * that knows exactly which octet-counted frames it handed to the kernel.
 */
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type MetricSample, type RoleProcess, scrapeMetrics, startRoleProcess } from '@siem/local-stack';

export interface GatewayTopics {
  raw: string;
  dlq: string;
  normalized: string;
}

/** Unique topic names for one test, so runs never see each other's records. */
export function uniqueTopics(prefix: string): GatewayTopics {
  const id = randomUUID().slice(0, 8);
  return {
    raw: `${prefix}.raw.${id}`,
    dlq: `${prefix}.dlq.${id}`,
    normalized: `${prefix}.normalized.${id}`,
  };
}

export interface GatewayProcessOptions {
  brokers: string;
  topics: GatewayTopics;
  dataDir: string;
  /** TCP and UDP syslog port (both listeners on 127.0.0.1). */
  syslogPort: number;
  apiPort: number;
  /** More SIEM_* settings, e.g. { SIEM_BUFFER__MAX_EVENTS: '2000' }. */
  env?: Record<string, string>;
}

export interface GatewayProcess extends RoleProcess {
  readonly apiPort: number;
  readonly syslogPort: number;
  metrics(): Promise<MetricSample[]>;
}

/** Starts the gateway role and waits until its adapters listen. */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const role = await startRoleProcess(
    'gateway',
    {
      SIEM_DATA_DIR: options.dataDir,
      SIEM_LOG__LEVEL: 'info',
      SIEM_KAFKA__BROKERS: options.brokers,
      SIEM_KAFKA__TOPICS__RAW__NAME: options.topics.raw,
      SIEM_KAFKA__TOPICS__RAW__PARTITIONS: '4',
      SIEM_KAFKA__TOPICS__DLQ__NAME: options.topics.dlq,
      SIEM_KAFKA__TOPICS__DLQ__PARTITIONS: '1',
      SIEM_KAFKA__TOPICS__NORMALIZED__NAME: options.topics.normalized,
      SIEM_KAFKA__TOPICS__NORMALIZED__PARTITIONS: '1',
      SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
      SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(options.syslogPort),
      SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
      SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(options.syslogPort),
      SIEM_API__HOST: '127.0.0.1',
      SIEM_API__PORT: String(options.apiPort),
      // not under test here, and on by default on 5515, which a developer's `npm start` may hold
      SIEM_ADAPTERS__WINDOWS_EVENTS__ENABLED: 'false',
      ...options.env,
    },
    // SIEM_TEST_GATEWAY_LOGS=<folder> keeps each gateway's log as <folder>/gateway-<pid>.log
    { startTimeoutMs: 90_000, logDir: process.env.SIEM_TEST_GATEWAY_LOGS },
  );
  return Object.assign(role, {
    apiPort: options.apiPort,
    syslogPort: options.syslogPort,
    metrics: () => scrapeMetrics(options.apiPort),
  });
}

/** The frame body (a syslog message) of event `seq` of connection `conn`. */
export type FrameSource = (conn: number, seq: number) => Buffer;

export interface ConnectionLog {
  /** Frames whose bytes were all handed to the kernel (the write callback ran without error). */
  written: number;
  /** Frames passed to write() (written, or still in the socket's user-space queue). */
  queued: number;
  /** How the connection ended. */
  end: 'open' | 'ended' | 'error';
  error: string | null;
  localPort: number | null;
}

/**
 * A syslog client over TCP with octet-counted frames (RFC 6587) on several connections, at a steady
 * rate in total. It records, per connection, how many frames were written in full; frame `seq` of a
 * connection is always `frame(conn, seq)`, so the receiver's side can be checked byte for byte.
 */
export class OctetCountedLoad {
  readonly connections: ConnectionLog[];
  readonly #sockets: Socket[] = [];
  readonly #frame: FrameSource;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(
    readonly port: number,
    readonly connectionCount: number,
    frame: FrameSource,
  ) {
    this.#frame = frame;
    this.connections = Array.from({ length: connectionCount }, () => ({
      written: 0,
      queued: 0,
      end: 'open' as const,
      error: null,
      localPort: null,
    }));
  }

  get written(): number {
    return this.connections.reduce((a, c) => a + c.written, 0);
  }

  static frameOf(body: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`${body.length} `), body]);
  }

  async connect(): Promise<void> {
    for (let i = 0; i < this.connectionCount; i++) {
      const socket = new Socket();
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(this.port, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const log = this.connections[i]!;
      log.localPort = socket.localPort ?? null;
      socket.on('error', (err) => {
        if (log.end === 'open') {
          log.end = 'error';
          log.error = err.message;
        }
      });
      socket.on('close', () => {
        if (log.end === 'open') log.end = 'error';
      });
      this.#sockets.push(socket);
    }
  }

  /**
   * Sends at `ratePerSecond` in total (spread over the connections) until `stop`, or until each
   * connection has sent `perConnection` frames. Respects TCP backpressure (waits for 'drain').
   */
  start(ratePerSecond: number, perConnection = Number.POSITIVE_INFINITY): void {
    this.#running = true;
    const perConn = ratePerSecond / this.connectionCount;
    this.#loops = this.#sockets.map((socket, i) => this.#send(socket, i, perConn, perConnection));
  }

  async #send(socket: Socket, conn: number, rate: number, limit: number): Promise<void> {
    const log = this.connections[conn]!;
    const t0 = performance.now();
    const tick = 20; // ms: frames are sent in small bursts
    while (this.#running && log.queued < limit && log.end === 'open') {
      const due = Math.min(limit, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      let ok = true;
      while (log.queued < due && ok && log.end === 'open') {
        const frame = OctetCountedLoad.frameOf(this.#frame(conn, log.queued));
        log.queued++;
        ok = socket.write(frame, (err) => {
          if (!err) log.written++;
        });
      }
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.once('drain', done);
          socket.once('close', done);
        });
      } else await sleep(tick);
    }
  }

  /** Stops sending; waits for the senders' loops to return. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Ends every connection cleanly (FIN after the queued bytes) and waits for the close. */
  async end(): Promise<void> {
    await this.stop();
    await Promise.all(
      this.#sockets.map(
        (s, i) =>
          new Promise<void>((resolve) => {
            const log = this.connections[i]!;
            if (s.destroyed) return resolve();
            s.once('close', () => resolve());
            s.end(() => {
              if (log.end === 'open') log.end = 'ended';
            });
          }),
      ),
    );
  }

  destroy(): void {
    this.#running = false;
    for (const s of this.#sockets) s.destroy();
  }
}
