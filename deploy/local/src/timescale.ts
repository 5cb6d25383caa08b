import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import { timescaleServerModule } from '@siem/storage';
import pg from 'pg';
import { stackPaths, stackPorts } from './paths.js';
import { pidAlive, readPid, removeIfExists, stopPid, waitFor } from './proc.js';
import type { ServiceStatus, StackService } from './service.js';

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
  const pidFile = join(home, 'server.pid');
  const logFile = join(home, 'server.log');
  const url = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  return {
    name: options.name,
    address: `127.0.0.1:${options.port} (${url})`,

    async status(): Promise<ServiceStatus> {
      const pid = readPid(pidFile);
      const alive = pid !== null && pidAlive(pid);
      const ok = await answers(url);
      return { running: alive || ok, answers: ok, pid: alive ? pid : null };
    },

    async up(): Promise<boolean> {
      const pid = readPid(pidFile);
      if (await answers(url)) return false; // ours, or another engine already on this port
      if (pid !== null && pidAlive(pid)) {
        // Ours and alive but silent: busy (the engine may be serving a long request from another test
        // run) or still starting. Wait for it; never restart a service other runs may be using.
        await waitFor(options.name, () => answers(url), 120_000, 1_000);
        return false;
      }
      mkdirSync(home, { recursive: true });
      const out = openSync(logFile, 'a');
      const child = spawn(
        process.execPath,
        [...nodeArgsFor(timescaleServerModule), join(home, 'data'), '127.0.0.1', String(options.port)],
        { detached: true, stdio: ['ignore', out, out] },
      );
      closeSync(out);
      child.unref();
      writeFileSync(pidFile, `${child.pid}\n`);
      try {
        await waitFor(
          'timescaledb',
          async () => {
            if (!pidAlive(child.pid!)) {
              const log = existsSync(logFile)
                ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')
                : '';
              throw new Error(`the server exited; its log ends with:\n${log}`);
            }
            return answers(url);
          },
          90_000,
          300,
        );
      } catch (err) {
        await stopPid(child.pid!, 5_000);
        throw err;
      }
      return true;
    },

    async down(): Promise<boolean> {
      const pid = readPid(pidFile);
      if (pid === null || !pidAlive(pid)) {
        removeIfExists(pidFile);
        return false;
      }
      await stopPid(pid, 30_000);
      removeIfExists(pidFile);
      return true;
    },
  };
}

export const timescaleService = createTimescaleService({ name: 'timescaledb', port: stackPorts.timescale });
