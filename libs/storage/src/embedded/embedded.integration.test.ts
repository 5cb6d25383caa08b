import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
