import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { nodeArgsFor, SiemError } from '@siem/core';
import { BulkChannel } from './bulk-channel.js';

/** The program that serves the TimescaleDB engine; run it with `nodeArgsFor(timescaleServerModule)`. */
export const timescaleServerModule = new URL(
  `./timescale-server.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
  import.meta.url,
);

export interface EmbeddedTimescale {
  /** The connection URL, with the password when one is required: keep it out of logs (displayUrl). */
  readonly url: string;
  /** The URL with the password masked, for logs and banners. */
  readonly displayUrl: string;
  readonly port: number;
  readonly pid: number;
  /** The private bulk channel to the engine (null when the engine could not offer one). */
  readonly bulk: BulkChannel | null;
  stop(): Promise<void>;
}

export interface EmbeddedTimescaleOptions {
  dataDir: string;
  host?: string;
  port?: number;
  startTimeoutMs?: number;
  /** After SIGTERM, how long the engine gets to close its database before SIGKILL. */
  stopGraceMs?: number;
  /**
   * Require a password generated for this run (default true): without one any local user, or a
   * process sharing the pod's network, could connect as superuser and read every tenant. The URL
   * carries it.
   */
  requirePassword?: boolean;
  /** A transaction left idle this long while other connections wait is rolled back (default 30 s). */
  idleTransactionMs?: number;
}

/** The stdio slot of the bulk channel in the engine's process. */
const BULK_FD = 3;

/** Bulk channels of the engines this process started, by their connection URL (see bulkChannelFor). */
const channels = new Map<string, BulkChannel>();

/**
 * The bulk channel of an embedded engine this process started and that still runs, found by its
 * connection URL: the writer uses it for a pool on that URL.
 */
export function bulkChannelFor(url: string | undefined): BulkChannel | null {
  if (url === undefined) return null;
  const c = channels.get(url);
  return c?.open ? c : null;
}

/**
 * Starts the TimescaleDB engine as a child process bound to this one and resolves with its connection
 * URL once it accepts connections. The child never outlives this process: `stop()` sends SIGTERM and,
 * after `stopGraceMs`, SIGKILL; an exit of this process without `stop()` sends it SIGTERM; and the
 * child's own watchdog kills it once this process is gone, even while a query keeps it busy.
 */
export async function startEmbeddedTimescale(options: EmbeddedTimescaleOptions): Promise<EmbeddedTimescale> {
  const host = options.host ?? '127.0.0.1';
  const password = options.requirePassword === false ? null : randomBytes(24).toString('base64url');
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgsFor(timescaleServerModule), options.dataDir, host, String(options.port ?? 0)],
    {
      stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
      env: {
        ...process.env,
        SIEM_TIMESCALE_FOLLOW_PARENT: '1',
        SIEM_TIMESCALE_PARENT_PID: String(process.pid),
        SIEM_TIMESCALE_BULK_FD: String(BULK_FD),
        ...(password === null ? {} : { SIEM_TIMESCALE_PASSWORD: password }),
        SIEM_TIMESCALE_IDLE_TX_MS: String(options.idleTransactionMs ?? 30_000),
      },
    },
  );
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  let ready: { port: number; bulk?: boolean };
  try {
    ready = await new Promise<{ port: number; bulk?: boolean }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SiemError('SIEM_ERR_TIMEOUT', 'embedded TimescaleDB did not start in time')),
        options.startTimeoutMs ?? 60_000,
      );
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as { port: number; bulk?: boolean });
        } catch (cause) {
          reject(new SiemError('SIEM_ERR_NOT_CONNECTED', `embedded TimescaleDB said: ${line}`, { cause }));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(
          new SiemError(
            'SIEM_ERR_NOT_CONNECTED',
            `embedded TimescaleDB exited with code ${code} at start-up`,
          ),
        );
      });
    });
  } catch (err) {
    process.off('exit', onExit);
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const at = `${host.includes(':') ? `[${host}]` : host}:${ready.port}/postgres`;
  const url = `postgres://postgres${password === null ? '' : `:${password}`}@${at}`;
  const displayUrl = `postgres://postgres${password === null ? '' : ':***'}@${at}`;
  const pipe = child.stdio[BULK_FD] as Duplex | null;
  const bulk = ready.bulk === true && pipe !== null ? new BulkChannel(pipe) : null;
  if (bulk !== null) channels.set(url, bulk);
  let stopping: Promise<void> | null = null;
  return {
    port: ready.port,
    url,
    displayUrl,
    pid: child.pid!,
    bulk,
    stop() {
      stopping ??= (async () => {
        if (channels.get(url) === bulk) channels.delete(url);
        bulk?.close();
        process.off('exit', onExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          // A busy engine handles SIGTERM only when its query ends: do not wait for that.
          const timer = setTimeout(() => child.kill('SIGKILL'), options.stopGraceMs ?? 10_000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}
