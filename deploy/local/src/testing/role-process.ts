/**
 * The real `siem serve --role …` process for integration tests: its own environment, its log lines
 * collected and waited for, stopped with a signal (SIGKILL after a grace period).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import { defaultPortsLeftOpen } from './default-ports.js';

const cliMain = new URL('../../../../apps/cli/src/main.ts', import.meta.url);

/** A short random suffix for topics, groups and schemas, so runs never see each other's data. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
}

/** The environment of a child without this process's SIEM_* settings (unknown keys are refused). */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SIEM_') || k.startsWith('SIEM_STACK_')) env[k] = v;
  }
  return { ...env, ...extra };
}

export type Role = 'gateway' | 'normalizer' | 'all';

export interface RoleExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RoleProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every log line so far (pino JSON), stdout and stderr. */
  readonly lines: string[];
  readonly exited: Promise<RoleExit>;
  /** Resolves with the first log line whose `msg` matches (lines already logged count). */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Log lines (parsed) whose `msg` matches. */
  logs(msg: string | RegExp): Record<string, unknown>[];
  /** SIGTERM (or the given signal), then the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<RoleExit>;
}

export interface StartRoleOptions {
  /** How long the role may take to log "started" (default 120 s). */
  startTimeoutMs?: number;
  /** A folder to keep the role's log in, as `<role>-<pid>.log`, once it exited. */
  logDir?: string | undefined;
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const o = JSON.parse(line) as unknown;
    return typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function matches(o: Record<string, unknown>, msg: string | RegExp): boolean {
  const m = String(o.msg ?? '');
  return typeof msg === 'string' ? m === msg : msg.test(m);
}

/**
 * Starts `siem serve --role <role>` with `env` (SIEM_* settings) and waits for its "started" line.
 * Throws before starting when `env` leaves a listener of the role on a default port.
 */
export async function startRoleProcess(
  role: Role,
  env: Record<string, string>,
  options: StartRoleOptions = {},
): Promise<RoleProcess> {
  const open = defaultPortsLeftOpen(role, env);
  if (open.length > 0) {
    throw new Error(`a test's ${role} role must not use the default ports:\n  ${open.join('\n  ')}`);
  }
  const child = spawn(process.execPath, [...nodeArgsFor(cliMain), 'serve', '--role', role], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.on('data', (d: Buffer) => {
      rest += d.toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      lines.push(...parts.filter((l) => l !== ''));
      for (const l of listeners) l();
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  let exit: RoleExit | null = null;
  const exited = new Promise<RoleExit>((resolve) =>
    child.once('exit', (code, signal) => {
      const keep = options.logDir;
      if (keep !== undefined && keep !== '') {
        mkdirSync(keep, { recursive: true });
        writeFileSync(join(keep, `${role}-${child.pid}.log`), `${lines.join('\n')}\n`);
      }
      exit = { code, signal };
      resolve(exit);
      for (const l of listeners) l();
    }),
  );

  const logs = (msg: string | RegExp) =>
    lines.map(parseLine).filter((o): o is Record<string, unknown> => o !== null && matches(o, msg));

  const waitForLog = (msg: string | RegExp, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        f();
      };
      const check = () => {
        const found = logs(msg)[0];
        if (found !== undefined) done(() => resolve(found));
        else if (exit !== null)
          done(() =>
            reject(new Error(`${role} exited (${JSON.stringify(exit)}) before "${msg}":\n${tail(lines)}`)),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`no "${msg}" in the ${role} log within ${timeoutMs} ms:\n${tail(lines)}`)),
          ),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });

  const proc: RoleProcess = {
    child,
    pid: child.pid!,
    lines,
    exited,
    waitForLog,
    logs,
    async stop(signal = 'SIGTERM', graceMs = 60_000) {
      if (exit !== null) return exit;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
  try {
    await waitForLog('started', options.startTimeoutMs ?? 120_000);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

/**
 * The warnings and errors of a log, each message once with its count, with the error code where there
 * is one (for assertion messages and the test output).
 */
export function logSummary(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const o = parseLine(line);
    if (o === null) {
      counts.set(line.slice(0, 200), (counts.get(line.slice(0, 200)) ?? 0) + 1);
      continue;
    }
    if (typeof o.level !== 'string' || !['warn', 'error', 'fatal'].includes(o.level)) continue;
    const detail = o.code !== undefined ? ` (code ${String(o.code)}: ${String(o.err ?? '')})` : '';
    const k = `${o.level}: ${String(o.msg)}${detail}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `  ${n} × ${k}`).join('\n');
}

function tail(lines: readonly string[], n = 25): string {
  return lines.slice(-n).join('\n');
}
