/**
 * Test and benchmark support for the CLI (never used by the commands): the `siem` process from
 * source, a port nothing listens on, the environment of an all role on ephemeral ports.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { nodeArgsFor, RawEventEncoder } from '@siem/core';
import { vi } from 'vitest';

const mainModule = new URL('./main.ts', import.meta.url);

/**
 * This process's environment without its SIEM_* settings (a child refuses keys it does not know), plus
 * `extra`. (The local stack's childEnv does the same; this module stays free of it so that the CLI
 * build does not need the local stack.)
 */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIEM_')));
  return { ...env, ...extra };
}

/** Runs `siem <args>` to its end, without this process's SIEM_* settings but with `env`. */
export function siemSync(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...nodeArgsFor(mainModule), ...args], {
    encoding: 'utf8',
    env: cliEnv(env),
    timeout: 90_000,
  });
}

export interface SiemChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `siem <args>` in the background, collecting its output (the caller kills it in clean-up). */
export function spawnSiem(args: string[], env: Record<string, string> = {}): SiemChild {
  const child = spawn(process.execPath, [...nodeArgsFor(mainModule), ...args], {
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** A port nothing listens on: bound once by the OS, then released. */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** SIEM_* settings of an all role whose listeners and API take ephemeral loopback ports. */
export function ephemeralAllRoleEnv(dataDir: string): Record<string, string> {
  return {
    SIEM_DATA_DIR: dataDir,
    SIEM_API__PORT: '0',
    SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_UDP__PORT: '0',
    SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_TCP__PORT: '0',
    SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
    SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: '0',
  };
}

const encoder = new RawEventEncoder(
  { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '192.0.2.5', peerPort: 40000, tls: null },
  'default',
);

/** A raw event (version 2) as a syslog TCP listener would make it of `line`, without a parsed header. */
export function sampleRawEvent(line: string): Buffer {
  return encoder.encode({
    receivedAtMs: Date.now(),
    sourceType: 'syslog',
    syslog: null,
    marks: null,
    parseError: null,
    originalSize: line.length,
    payload: Buffer.from(line),
  });
}

/** Captures what a command writes to stdout and stderr (restore with vi.restoreAllMocks). */
export function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
  return { out: () => out, err: () => err };
}
