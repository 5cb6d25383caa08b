/**
 * Keeps the engine's process from outliving the process that started it, whatever its main thread is
 * doing. A query runs as synchronous WebAssembly on the main thread: while it runs, no signal handler,
 * pipe 'close' or timer of the main thread fires, so a parent that exits (SIGTERM, SIGKILL, crash)
 * would leave the engine behind, still busy, and deaf to SIGTERM until the query ends.
 *
 * A worker thread has its own event loop: it polls the parent (its pid is passed in; once the parent
 * exits, this process is re-parented and `process.ppid` changes) and ends the whole process with
 * SIGKILL, which no busy thread can delay. When the main thread is free it gets `goneGraceMs` first to
 * close the database cleanly on its own (it follows the parent's pipe). A clean shutdown that has
 * begun (`stopping()`) gets `stopGraceMs` to finish.
 */
import { Worker } from 'node:worker_threads';

export interface WatchdogOptions {
  parentPid: number;
  pollMs?: number;
  goneGraceMs?: number;
  stopGraceMs?: number;
}

export interface Watchdog {
  /** The main thread has begun a clean shutdown: SIGKILL if it has not exited within stopGraceMs. */
  stopping(): void;
}

// Plain JavaScript evaluated in the worker (CommonJS, no loader): it must not depend on the TypeScript
// tooling the main thread may run under.
const WATCHDOG_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { parentPid, pollMs, goneGraceMs, stopGraceMs } = workerData;
let deadline = null;
let stopDeadline = null;
const parentGone = () => {
  if (process.ppid !== parentPid) return true;
  try { process.kill(parentPid, 0); return false; } catch (err) { return err.code === 'ESRCH'; }
};
parentPort.on('message', (m) => { if (m === 'stopping' && stopDeadline === null) stopDeadline = Date.now() + stopGraceMs; });
setInterval(() => {
  const now = Date.now();
  if (deadline === null && parentGone()) deadline = now + goneGraceMs;
  const due = stopDeadline !== null ? stopDeadline : deadline;
  if (due !== null && now >= due) {
    process.stderr.write('timescale-server: ' + (stopDeadline !== null ? 'shutdown took too long' : 'parent ' + parentPid + ' is gone') + ': killing this process\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, pollMs);
`;

export function startParentWatchdog(options: WatchdogOptions): Watchdog {
  const worker = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    // The main thread may run under a TypeScript loader (--import tsx): the worker needs none.
    execArgv: [],
    workerData: {
      parentPid: options.parentPid,
      pollMs: options.pollMs ?? 200,
      goneGraceMs: options.goneGraceMs ?? 2_000,
      stopGraceMs: options.stopGraceMs ?? 20_000,
    },
    stdout: false,
    stderr: false,
  });
  // It must never keep the process alive by itself.
  worker.unref();
  return {
    stopping() {
      worker.postMessage('stopping');
    },
  };
}
