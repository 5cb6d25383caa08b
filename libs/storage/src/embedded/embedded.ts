import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nodeArgsFor, SiemError } from '@siem/core';

/** The program that serves the TimescaleDB engine; run it with `nodeArgsFor(timescaleServerModule)`. */
export const timescaleServerModule = new URL(
  `./timescale-server.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
  import.meta.url,
);

export interface EmbeddedTimescale {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the TimescaleDB engine as a child process bound to this one (it exits when we exit) and
 * resolves with its connection URL once it accepts connections.
 */
export async function startEmbeddedTimescale(options: {
  dataDir: string;
  host?: string;
  port?: number;
  startTimeoutMs?: number;
}): Promise<EmbeddedTimescale> {
  const host = options.host ?? '127.0.0.1';
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgsFor(timescaleServerModule), options.dataDir, host, String(options.port ?? 0)],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, SIEM_TIMESCALE_FOLLOW_PARENT: '1' } },
  );
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new SiemError('SIEM_ERR_TIMEOUT', 'embedded TimescaleDB did not start in time')),
      options.startTimeoutMs ?? 60_000,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as { port: number });
      } catch (cause) {
        reject(new SiemError('SIEM_ERR_NOT_CONNECTED', `embedded TimescaleDB said: ${line}`, { cause }));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new SiemError('SIEM_ERR_NOT_CONNECTED', `embedded TimescaleDB exited with code ${code} at start-up`),
      );
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    port: ready.port,
    url: `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${ready.port}/postgres`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
