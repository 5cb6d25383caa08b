import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeArgsFor } from '@siem/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedTimescale, startEmbeddedTimescale } from './embedded.js';

/**
 * The embedded engine (an instance of its own, in a temporary folder): the fixes of its wire server.
 */
describe('embedded TimescaleDB engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'siem-embedded-'));
  let engine: EmbeddedTimescale | null = null;
  afterAll(async () => {
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps each connection’s exchanges whole while other connections open and query', async () => {
    engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
    const a = new pg.Client({ connectionString: engine.url });
    await a.connect();
    let answered = 0;
    const queries = (async () => {
      for (let i = 0; i < 200; i++) {
        const r = await a.query('select $1::int + 1 as n, repeat($2, 2000) as pad', [i, 'x']);
        expect(r.rows[0].n).toBe(i + 1);
        answered++;
      }
    })();
    const churn = (async () => {
      for (let i = 0; i < 30; i++) {
        const c = new pg.Client({ connectionString: engine!.url });
        await c.connect();
        expect((await c.query('select $1::text as v', [`c${i}`])).rows[0].v).toBe(`c${i}`);
        await c.end();
      }
    })();
    // Before the fix, a query whose exchange a new connection's start-up split never got an answer.
    const stalled = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`stalled after ${answered} answers`)), 60_000),
    );
    await Promise.race([Promise.all([queries, churn]), stalled]);
    expect(answered).toBe(200);
    await a.end();
  });

  it('has compression and continuous aggregates after a restart on the same data folder', async () => {
    const first = new pg.Client({ connectionString: engine!.url });
    await first.connect();
    await first.query('create table probe (time timestamptz not null, v int)');
    await first.query(`select create_hypertable('probe', by_range('time'))`);
    await first.end();
    await engine!.stop();
    engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
    const again = new pg.Client({ connectionString: engine.url });
    await again.connect();
    // Without LOAD at start-up this failed: "functionality not supported under the current license".
    await again.query('alter table probe set (timescaledb.enable_columnstore = true)');
    const r = await again.query(
      `select count(*)::int as n from timescaledb_information.hypertable_columnstore_settings where hypertable = 'probe'::regclass`,
    );
    expect(r.rows[0].n).toBe(1);
    await again.end();
  });
});

/** The state letter of a process (R running, S sleeping, Z zombie…), or null when there is none. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return null;
  }
}

/** A zombie has exited; only its parent has not collected it yet. */
function alive(pid: number): boolean {
  const state = processState(pid);
  return state !== null && state !== 'Z' && state !== 'X';
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

describe('the embedded engine never outlives its parent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'siem-embedded-parent-'));
  const started: Array<{ parent: ChildProcess; child: number }> = [];
  afterAll(() => {
    for (const { parent, child } of started) {
      parent.kill('SIGKILL');
      if (alive(child)) process.kill(child, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A parent process (test-parent.ts) whose engine is busy in a long query. */
  async function busyEngineUnderParent(mode: 'stop' | 'exit', name: string) {
    const parent = spawn(
      process.execPath,
      [...nodeArgsFor(new URL('./test-parent.ts', import.meta.url)), join(dir, name), mode],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once('line', resolve);
      parent.once('exit', (code) =>
        reject(new Error(`the parent exited with ${code} before its engine was busy`)),
      );
    });
    const { child } = JSON.parse(line) as { child: number };
    started.push({ parent, child });
    // Busy: running (or runnable) in its query, not sleeping on its event loop.
    expect(await until(() => processState(child) === 'R', 15_000)).toBe(true);
    await sleep(500);
    expect(processState(child)).toBe('R');
    return { parent, child };
  }

  it.each([
    ['SIGTERM', 'stop', 'the parent stops it: SIGTERM, which the busy engine cannot handle, then SIGKILL'],
    ['SIGTERM', 'exit', 'the parent exits without stopping it: the watchdog thread ends it'],
    ['SIGKILL', 'stop', 'the parent is killed: the watchdog thread ends it'],
  ] as const)(
    'is gone within seconds after its parent gets %s (%s: %s) while a query keeps it busy',
    async (signal, mode, _how) => {
      const { parent, child } = await busyEngineUnderParent(mode, `${signal}-${mode}`);
      parent.kill(signal);
      expect(await until(() => !alive(child), 8_000)).toBe(true);
    },
  );
});
