import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pidAlive, readPid, removeIfExists, stopPid, waitFor } from './proc.js';
import type { ServiceStatus, StackService } from './service.js';

/** A stack service that runs as a detached process of ours, known by its pid file. */
export interface DetachedServiceSpec {
  name: string;
  address: string;
  /** What the process is, for the error when it exits while starting: 'the broker', 'the server'. */
  what: string;
  pidFile: string;
  /** Where the process's stdout and stderr go (appended). */
  outFile: string;
  /** Whether the service answers a real request (metadata, a query) within about `timeoutMs`. */
  answers(timeoutMs: number): Promise<boolean>;
  /** Makes ready what a start needs (files, folders) and says what to run. */
  prepare(): Promise<{ command: string; args: string[] }>;
  startTimeoutMs: number;
  /** How often a starting process is asked whether it answers. */
  startPollMs: number;
  /** How long `down` waits after SIGTERM before SIGKILL. */
  stopGraceMs: number;
}

function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/**
 * A service that outlives the command that started it (detached, its output in a file): `up` leaves
 * alone whatever already answers on its port, waits for a process of ours that is alive but silent
 * (busy, or starting: never restart a service other runs may be using), and otherwise starts one and
 * waits until it answers; `down` stops ours (SIGTERM, then SIGKILL).
 */
export function detachedService(spec: DetachedServiceSpec): StackService {
  return {
    name: spec.name,
    address: spec.address,

    async status(): Promise<ServiceStatus> {
      const pid = readPid(spec.pidFile);
      const alive = pid !== null && pidAlive(pid);
      const answers = await spec.answers(2_000);
      return { running: alive || answers, answers, pid: alive ? pid : null };
    },

    async up(): Promise<boolean> {
      const pid = readPid(spec.pidFile);
      if (await spec.answers(3_000)) return false; // ours, or another one already on this port
      if (pid !== null && pidAlive(pid)) {
        await waitFor(spec.name, () => spec.answers(2_000), 120_000, 1_000);
        return false;
      }
      const { command, args } = await spec.prepare();
      mkdirSync(dirname(spec.outFile), { recursive: true });
      const out = openSync(spec.outFile, 'a');
      const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
      closeSync(out);
      child.unref();
      writeFileSync(spec.pidFile, `${child.pid}\n`);
      try {
        await waitFor(
          spec.name,
          async () => {
            if (!pidAlive(child.pid!)) {
              throw new Error(`${spec.what} exited; its log ends with:\n${tail(spec.outFile)}`);
            }
            return spec.answers(2_000);
          },
          spec.startTimeoutMs,
          spec.startPollMs,
        );
      } catch (err) {
        await stopPid(child.pid!, 5_000);
        throw err;
      }
      return true;
    },

    async down(): Promise<boolean> {
      const pid = readPid(spec.pidFile);
      if (pid === null || !pidAlive(pid)) {
        removeIfExists(spec.pidFile);
        return false;
      }
      await stopPid(pid, spec.stopGraceMs);
      removeIfExists(spec.pidFile);
      return true;
    },
  };
}
