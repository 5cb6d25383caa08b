import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import { timescaleServerModule } from '@siem/storage';
import pg from 'pg';
import { detachedService } from './detached-service.js';
import { stackPaths, stackPorts } from './paths.js';
import type { StackService } from './service.js';

export interface TimescaleInstanceOptions {
  name: string;
  port: number;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const r = await client.query("select extversion from pg_extension where extname = 'timescaledb'");
    return r.rowCount === 1;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The TimescaleDB engine (PGlite build) behind the PostgreSQL wire protocol, in its own process.
 * `timescaleService` is the stack's own; outage tests make an instance of their own on another port.
 */
export function createTimescaleService(options: TimescaleInstanceOptions): StackService {
  const home = join(stackPaths.stackDir, options.name);
  const url = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  return detachedService({
    name: options.name,
    address: `127.0.0.1:${options.port} (${url})`,
    what: 'the server',
    pidFile: join(home, 'server.pid'),
    outFile: join(home, 'server.log'),
    answers: () => answers(url),
    async prepare() {
      return {
        command: process.execPath,
        args: [...nodeArgsFor(timescaleServerModule), join(home, 'data'), '127.0.0.1', String(options.port)],
      };
    },
    startTimeoutMs: 90_000,
    startPollMs: 300,
    stopGraceMs: 30_000,
  });
}

export const timescaleService = createTimescaleService({ name: 'timescaledb', port: stackPorts.timescale });
