import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackUrls } from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOKUP_INDEXES } from './lookup-indexes.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';
import { type SampleOptions, sampleBatch } from './sample-events.js';
import type { StorageSettings } from './settings.js';
import { dropSchema, uniqueName, warmPool } from './test-support.js';
import { listChunks, runTiers } from './tiers.js';
import { EventWriter } from './writer.js';

const DAY = 86_400_000;

/**
 * The embedded TimescaleDB engine (the local stack's): lookup indexes built on closed chunks by the tier
 * job (the default there), and the switch to indexes maintained on write and back.
 */
describe('lookup indexes on the embedded TimescaleDB engine', () => {
  const schema = uniqueName('siem_test_lookup');
  const o: SampleOptions = { seed: 0x100c, fromMs: Date.now() - 3 * DAY, toMs: Date.now(), count: 6_000 };
  let pool: Pool;
  let archiveDir: string;
  let settings: Partial<StorageSettings>;

  const hypertableIndexes = async () =>
    (
      await pool.query<{ indexname: string }>(
        `select indexname from pg_indexes where schemaname = $1 and tablename = 'events' order by 1`,
        [schema],
      )
    ).rows.map((r) => r.indexname);
  const chunks = async () => {
    const client = await pool.connect();
    try {
      return await listChunks(client, 'timescaledb', schema);
    } finally {
      client.release();
    }
  };
  /** Event ids of one host's events, newest first, through the host lookup. */
  const hostLookup = async () => {
    const r = await pool.query<{ event_id: string }>(
      `select event_id from "${schema}".events where tenant_id = 'tenant-1' and host_name = 'host-3' order by time desc, event_id desc`,
    );
    return r.rows.map((row) => row.event_id);
  };

  beforeAll(async () => {
    pool = createPool({ url: stackUrls.timescale, size: 2, idleTimeoutMs: 0 });
    await warmPool(pool, 2);
    archiveDir = mkdtempSync(join(tmpdir(), 'siem-lookup-'));
    settings = { schema, chunkInterval: '1 day', archive: { enabled: false, dir: archiveDir, zstdLevel: 3 } };
    await migrate(pool, settings);
    const writer = new EventWriter({ pool, schema, chunkInterval: '1 day' });
    await writer.writeBatch(sampleBatch(o, 0, o.count));
    // A chunk past warm_after (7 days): the tier job compresses it and builds no index on it.
    const old = {
      ...o,
      seed: 0x100d,
      fromMs: Date.now() - 11 * DAY,
      toMs: Date.now() - 10 * DAY,
      count: 300,
    };
    await writer.writeBatch(sampleBatch(old, 0, old.count));
    await writer.close();
  });

  afterAll(async () => {
    await dropSchema(stackUrls.timescale, schema);
    await pool?.end();
    rmSync(archiveDir, { recursive: true, force: true });
  });

  it('leaves them off the hypertable, and the tier job builds them on each closed chunk once', async () => {
    expect(await hypertableIndexes()).toEqual(['events_pkey']);
    const expected = await hostLookup();
    expect(expected.length).toBeGreaterThan(10);
    const before = await chunks();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.every((c) => c.secondaryIndexes === 0)).toBe(true);

    const started = Date.now();
    const report = await runTiers(pool, settings);
    expect(report.errors).toEqual([]);
    const after = await chunks();
    expect(report.compressed).toBeGreaterThanOrEqual(1);
    for (const c of after.filter((x) => x.compressed)) expect(c.secondaryIndexes, c.name).toBe(0);
    const closed = after.filter((c) => !c.compressed && c.rangeEnd.getTime() <= started);
    const open = after.filter((c) => c.rangeEnd.getTime() > Date.now());
    expect(closed.length).toBeGreaterThanOrEqual(2);
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(report.indexesBuilt).toBe(closed.length * LOOKUP_INDEXES.length);
    for (const c of closed) expect(c.secondaryIndexes, c.name).toBe(LOOKUP_INDEXES.length);
    for (const c of open) expect(c.secondaryIndexes, c.name).toBe(0);

    // The planner takes the chunk's own index when it may not scan.
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('set local enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `explain select event_id from "${schema}".events
          where tenant_id = 'tenant-1' and host_name = 'host-3' and time >= $1 and time < $2`,
        [closed[0]!.rangeStart, closed[0]!.rangeEnd],
      );
      await client.query('rollback');
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/_events_host_idx/);
    } finally {
      client.release();
    }
    expect(await hostLookup()).toEqual(expected);

    const again = await runTiers(pool, settings);
    expect(again.errors).toEqual([]);
    expect(again.indexesBuilt).toBe(0);
  });

  it('converts to indexes maintained on write and back, with the same answers', async () => {
    const expected = await hostLookup();
    await migrate(pool, { ...settings, lookupIndexes: 'on_write' });
    expect(await hypertableIndexes()).toEqual(['events_pkey', ...LOOKUP_INDEXES.map((i) => i.name)].sort());
    // Every uncompressed chunk, the open one included, has each lookup index once (the per-chunk ones
    // were replaced, not doubled).
    const onWrite = (await chunks()).filter((c) => !c.compressed);
    for (const c of onWrite) expect(c.secondaryIndexes, c.name).toBe(LOOKUP_INDEXES.length);
    const perChunk = await pool.query<{ n: number }>(
      `select count(*)::int as n from pg_indexes i join timescaledb_information.chunks c
          on i.schemaname = c.chunk_schema and i.tablename = c.chunk_name
        where c.hypertable_schema = $1 and not c.is_compressed and i.indexname not like '%pkey'`,
      [schema],
    );
    expect(perChunk.rows[0]!.n).toBe(onWrite.length * LOOKUP_INDEXES.length);
    expect(await hostLookup()).toEqual(expected);
    const report = await runTiers(pool, { ...settings, lookupIndexes: 'on_write' });
    expect(report.indexesBuilt).toBe(0);

    await migrate(pool, settings);
    expect(await hypertableIndexes()).toEqual(['events_pkey']);
    expect((await chunks()).every((c) => c.secondaryIndexes === 0)).toBe(true);
    const rebuilt = await runTiers(pool, settings);
    expect(rebuilt.errors).toEqual([]);
    expect(rebuilt.indexesBuilt).toBeGreaterThanOrEqual(2 * LOOKUP_INDEXES.length);
    expect(await hostLookup()).toEqual(expected);
  });
});
