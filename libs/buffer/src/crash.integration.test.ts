import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { nodeArgsFor } from '@siem/core';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './testing/helpers.js';

/**
 * Crash safety with a real process: a child writes through the buffer (spilling, rotating, deleting
 * segments, compacting the ledger, pausing on its disk cap) while a slow sink consumes, and is killed
 * with SIGKILL at random moments, again and again; then a last run drains everything. Checked: every
 * start succeeds (no crash loop), every event the child saw written is delivered, and every duplicate
 * is one the buffer counted as possibly redelivered. No service is involved; this lives with the
 * integration tests because it is a long scenario of processes that must run alone on the machine.
 */

const CHILD = new URL('./testing/crash-child.ts', import.meta.url);
const ITERATIONS = 40;

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  ready: { redelivered: number; corrupt: number } | null;
  written: string[];
  delivered: string[];
  done: { diskSegments: number } | null;
  stderr: string;
}

function runChild(
  dir: string,
  mode: 'run' | 'drain',
  runId: string,
  killAfterReadyMs: number | null,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgsFor(CHILD), dir, mode, runId], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result: ChildRun = {
      code: null,
      signal: null,
      ready: null,
      written: [],
      delivered: [],
      done: null,
      stderr: '',
    };
    let pending = '';
    const readyTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`run ${runId}: not ready within 30 s (crash loop?)\n${result.stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        const msg = JSON.parse(line) as {
          t: string;
          ids?: string[];
          redelivered?: number;
          corrupt?: number;
          diskSegments?: number;
        };
        if (msg.t === 'ready') {
          result.ready = { redelivered: msg.redelivered!, corrupt: msg.corrupt! };
          clearTimeout(readyTimer);
          if (killAfterReadyMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterReadyMs);
        } else if (msg.t === 'w') result.written.push(...msg.ids!);
        else if (msg.t === 'd') result.delivered.push(...msg.ids!);
        else if (msg.t === 'done') result.done = { diskSegments: msg.diskSegments! };
      }
      // A line cut by the kill stays in `pending` and is ignored: its events were never acked/reported.
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      result.stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(readyTimer);
      result.code = code;
      result.signal = signal;
      resolve(result);
    });
  });
}

afterAll(() => removeTempDirs());

describe('buffer crash safety (SIGKILL)', () => {
  it(`loses no written event and never fails to start over ${ITERATIONS} kills`, async () => {
    const dir = tempDir('siem-buffer-crash-');
    const written = new Set<string>();
    const delivered = new Map<string, number>();
    let counted = 0;
    let corrupt = 0;
    const startedAt = Date.now();
    const note = (run: ChildRun) => {
      for (const id of run.written) written.add(id);
      for (const id of run.delivered) delivered.set(id, (delivered.get(id) ?? 0) + 1);
      counted += run.ready?.redelivered ?? 0;
      corrupt += run.ready?.corrupt ?? 0;
    };
    for (let i = 0; i < ITERATIONS; i++) {
      // Mostly mid-run; every fifth right after start, while it replays what the last one left.
      const killAfter = i % 5 === 4 ? Math.floor(Math.random() * 20) : 60 + Math.floor(Math.random() * 300);
      const run = await runChild(dir, 'run', `r${i}`, killAfter);
      expect(run.ready, `run ${i} started`).not.toBeNull();
      expect(run.signal, `run ${i} was killed, did not die by itself\n${run.stderr}`).toBe('SIGKILL');
      note(run);
    }
    const last = await runChild(dir, 'drain', 'drain', null);
    expect(last.code, last.stderr).toBe(0);
    note(last);
    expect(last.done?.diskSegments).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.sbuf'))).toEqual([]);

    const lost = [...written].filter((id) => !delivered.has(id));
    let duplicates = 0;
    for (const n of delivered.values()) duplicates += n - 1;
    console.info(
      `crash suite: ${ITERATIONS} SIGKILLs in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; ` +
        `${written.size} events written, ${delivered.size} delivered, ${lost.length} lost, ` +
        `${duplicates} duplicates (${counted} counted as possibly redelivered), ${corrupt} damaged frames cut`,
    );
    expect(written.size).toBeGreaterThan(10_000);
    expect(lost).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(counted);
  }, 150_000);
});
