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

  it('refuses a local client without the generated password, and keeps serving the others', async () => {
    const url = new URL(engine!.url);
    expect(url.password.length).toBeGreaterThanOrEqual(32);
    expect(engine!.displayUrl).toBe(engine!.url.replace(url.password, '***'));
    const good = new pg.Client({ connectionString: engine!.url });
    await good.connect();
    // Start a query stream on the good connection while strangers knock.
    const busy = (async () => {
      for (let i = 0; i < 50; i++) expect((await good.query('select $1::int as n', [i])).rows[0].n).toBe(i);
    })();
    for (const password of ['', 'wrong', `${url.password}x`]) {
      const stranger = new URL(engine!.url);
      stranger.password = password;
      const c = new pg.Client({ connectionString: stranger.toString() });
      c.on('error', () => undefined);
      await expect(c.connect()).rejects.toThrow(/password authentication failed/);
      await c.end().catch(() => undefined);
    }
    await busy;
    const again = new pg.Client({ connectionString: engine!.url });
    await again.connect();
    expect((await again.query('select 1 as one')).rows[0].one).toBe(1);
    await again.end();
    await good.end();
  });

  it('rolls back a transaction left idle while others wait, and closes its connection', async () => {
    // The test engine's idle limit is the default, 30 s: long for a test, so use a short one.
    await engine?.stop();
    engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data'), idleTransactionMs: 1_500 });
    const idle = new pg.Client({ connectionString: engine.url });
    idle.on('error', () => undefined);
    await idle.connect();
    await idle.query('begin');
    await idle.query('create table idle_probe (v int)');
    const started = Date.now();
    const other = new pg.Client({ connectionString: engine.url });
    await other.connect(); // its start-up waits behind the idle transaction
    expect((await other.query('select 2 as two')).rows[0].two).toBe(2);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(20_000);
    await expect(idle.query('select 1')).rejects.toThrow();
    // rolled back: the table made inside the idle transaction does not exist
    const r = await other.query(`select to_regclass('idle_probe') is null as gone`);
    expect(r.rows[0].gone).toBe(true);
    await other.end();
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
