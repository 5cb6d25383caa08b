import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { pidAlive, stopPid, waitFor } from '@siem/local-stack';
import type { ComponentSpec, HealthCheck } from './components.js';
import type { ClusterLayout } from './layout.js';

export const pidFile = (layout: ClusterLayout, name: string) => join(layout.logsDir, `${name}.pid`);
export const logFile = (layout: ClusterLayout, name: string) => join(layout.logsDir, `${name}.log`);

function exeName(pid: number): string | null {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ''));
  } catch {
    return null;
  }
}

/**
 * The pid in a component's pid file, if that process is alive and still runs the component's binary
 * (a pid reused by another program after a reboot is never signalled).
 */
export function componentPid(
  layout: ClusterLayout,
  spec: Pick<ComponentSpec, 'name' | 'binary'>,
): number | null {
  const file = pidFile(layout, spec.name);
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return null;
  return exeName(pid) === basename(spec.binary) ? pid : null;
}

function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Whether the component answers its health check within `timeoutMs`. */
export function healthy(check: HealthCheck, timeoutMs = 2_000): Promise<boolean> {
  if (check.kind === 'socket') {
    return new Promise((resolve) => {
      if (!existsSync(check.path)) return resolve(false);
      const s = connect(check.path);
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(timeoutMs, () => done(false));
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
  }
  return new Promise((resolve) => {
    const tls =
      check.kind === 'https'
        ? {
            rejectUnauthorized: check.clientCert !== undefined,
            ...(check.clientCert
              ? {
                  ca: readFileSync(check.clientCert.ca),
                  cert: readFileSync(check.clientCert.cert),
                  key: readFileSync(check.clientCert.key),
                }
              : {}),
          }
        : {};
    const req = (check.kind === 'https' ? httpsRequest : httpRequest)(
      check.url,
      { method: 'GET', timeout: timeoutMs, ...tls },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts a component detached (it outlives `up`), output appended to its log, pid in its pid file,
 * and waits until it answers its health check. A component of ours already alive is left alone and
 * waited for. If it exits or stays silent, it is stopped and the error quotes its log's end.
 */
export async function startComponent(
  layout: ClusterLayout,
  spec: ComponentSpec,
): Promise<'started' | 'running'> {
  mkdirSync(layout.logsDir, { recursive: true });
  const existing = componentPid(layout, spec);
  const log = logFile(layout, spec.name);
  if (existing !== null) {
    await waitFor(spec.name, () => healthy(spec.health), spec.startTimeoutMs, 500);
    return 'running';
  }
  const out = openSync(log, 'a');
  const child = spawn(spec.binary, spec.args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);
  child.unref();
  if (child.pid === undefined) await spawnError;
  writeFileSync(pidFile(layout, spec.name), `${child.pid}\n`);
  try {
    await waitFor(
      spec.name,
      async () => {
        if (!pidAlive(child.pid!)) throw new Error(`${spec.name} exited; ${log} ends with:\n${tail(log)}`);
        return healthy(spec.health);
      },
      spec.startTimeoutMs,
      250,
    );
  } catch (err) {
    await stopPid(child.pid!, 3_000);
    rmSync(pidFile(layout, spec.name), { force: true });
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(why.includes('ends with') ? why : `${why}\n${log} ends with:\n${tail(log)}`);
  }
  return 'started';
}

/** Stops a component of ours (SIGTERM, SIGKILL after its grace); says whether one was running. */
export async function stopComponent(layout: ClusterLayout, spec: ComponentSpec): Promise<boolean> {
  const pid = componentPid(layout, spec);
  if (pid !== null) await stopPid(pid, spec.stopGraceMs);
  rmSync(pidFile(layout, spec.name), { force: true });
  return pid !== null;
}
