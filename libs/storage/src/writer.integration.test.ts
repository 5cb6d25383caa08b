import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSiemError, type NormalizedEvent, NotConnectedError } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { metricsRegistry } from '@siem/observability';
import { expectComponentSeriesMoved } from '@siem/observability/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from './embedded/bulk-channel.js';
import { type EmbeddedTimescale, startEmbeddedTimescale } from './embedded/embedded.js';
import { storageMetrics } from './metrics.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';
import { COLUMN_COUNT, prepareRow } from './row-encoding.js';
import { type SampleOptions, sampleBatch, sampleEvent } from './sample-events.js';
import { createScratchDatabase, dropSchema, uniqueName, warmPool } from './test-support.js';
import { copyText } from './write-paths.js';
import { EventWriter } from './writer.js';

async function counterValue(c: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await c.get()).values.reduce((a, v) => a + v.value, 0);
}

async function counts(pool: Pool, schema: string): Promise<{ rows: number; ids: number }> {
  const r = await pool.query<{ rows: string; ids: string }>(
    `select count(*) as rows, count(distinct event_id) as ids from "${schema}".events`,
  );
  return { rows: Number(r.rows[0]!.rows), ids: Number(r.rows[0]!.ids) };
}

describe('event writer on PostgreSQL 15 (COPY)', () => {
  const TOTAL = 1_000_000;
  const BATCH = 10_000;
  const now = Date.now();
  const o: SampleOptions = { seed: 0x5eed, fromMs: now - 3 * 86_400_000, toMs: now, count: TOTAL + 100_000 };
  let db: { url: string; drop(): Promise<void> };
  let pool: Pool;
  let writer: EventWriter;

  beforeAll(async () => {
    db = await createScratchDatabase(stackUrls.postgres, 'siem_test_writer');
    pool = createPool({ url: db.url, size: 4 });
    await migrate(pool, { schema: 'siem', chunkInterval: '1 day' });
    writer = new EventWriter({ pool, schema: 'siem', chunkInterval: '1 day' });
    await writer.connect();
  });
  afterAll(async () => {
    await writer?.close();
    await pool?.end();
    await db?.drop();
  });

  it('writes 1,000,000 rows, all counted, and a replayed batch adds nothing', async () => {
    expect(writer.method).toBe('copy');
    let next = 0;
    const worker = async () => {
      while (next < TOTAL) {
        const from = next;
        next += BATCH;
        await writer.writeBatch(sampleBatch(o, from, from + BATCH));
      }
    };
    await Promise.all([worker(), worker()]);
    expect(await counts(pool, 'siem')).toEqual({ rows: TOTAL, ids: TOTAL });
    await expectComponentSeriesMoved(metricsRegistry, writer.component.ref, { received: true, sent: true });

    const duplicatesBefore = await counterValue(storageMetrics.rowsDuplicate);
    await writer.writeBatch(sampleBatch(o, 370_000, 380_000)); // replay of a stored batch
    expect(await counts(pool, 'siem')).toEqual({ rows: TOTAL, ids: TOTAL });
    expect((await counterValue(storageMetrics.rowsDuplicate)) - duplicatesBefore).toBe(BATCH);

    // half replayed, half new: the new half is stored, the old half skipped
    await writer.writeBatch(sampleBatch(o, TOTAL - 5_000, TOTAL + 5_000));
    expect(await counts(pool, 'siem')).toEqual({ rows: TOTAL + 5_000, ids: TOTAL + 5_000 });
  });

  it('is idempotent on the INSERT … unnest path too', async () => {
    const inserter = new EventWriter({ pool, schema: 'siem', method: 'insert', chunkInterval: '1 day' });
    await inserter.connect();
    expect(inserter.method).toBe('insert');
    const before = await counts(pool, 'siem');
    await inserter.writeBatch(sampleBatch(o, 0, 2_000)); // stored by COPY above
    await inserter.writeBatch(sampleBatch(o, TOTAL + 10_000, TOTAL + 12_000)); // new
    await inserter.writeBatch(sampleBatch(o, TOTAL + 10_000, TOTAL + 12_000)); // replayed
    expect(await counts(pool, 'siem')).toEqual({ rows: before.rows + 2_000, ids: before.ids + 2_000 });
    await inserter.close();
  });

  it('stores events with values the database would refuse, coerced, keeping the originals', async () => {
    const e = sampleEvent(o, TOTAL + 50_000);
    const bad = {
      ...e,
      srcIp: '999.1.1.1',
      dstPort: 123_456,
      severity: 12,
      message: 'nul \0 inside',
      attrs: { weird: 'x\0y' },
      time: '2026-02-30T25:00:00Z',
    };
    await writer.writeBatch([bad]);
    const r = await pool.query(
      `select src_ip, dst_port, severity, message, attrs, time = received_at as time_from_arrival
         from siem.events where event_id = $1`,
      [e.eventId],
    );
    expect(r.rows).toEqual([
      {
        src_ip: null,
        dst_port: null,
        severity: 7,
        message: 'nul \uFFFD inside',
        attrs: {
          weird: 'x\uFFFDy',
          _storage: { src_ip: '999.1.1.1', dst_port: 123_456, severity: 12, time: '2026-02-30T25:00:00Z' },
        },
        time_from_arrival: true,
      },
    ]);
  });

  it('creates a missing partition on demand (an event far in the past)', async () => {
    const old = { ...sampleEvent(o, TOTAL + 60_000), time: '2025-06-01T12:00:00Z' };
    await writer.writeBatch([old]);
    const r = await pool.query(
      `select count(*)::int as n from siem.events where time = '2025-06-01T12:00:00Z'`,
    );
    expect(r.rows[0].n).toBe(1);
  });

  it('splits a batch of large events into statements of about batch_bytes', async () => {
    const small = new EventWriter({ pool, schema: 'siem', chunkInterval: '1 day', batchBytes: 65_536 });
    await small.connect();
    const statements = async () =>
      (await storageMetrics.writeDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))
        ?.value ?? 0;
    const before = await statements();
    const big = Array.from({ length: 20 }, (_, j) => ({
      ...sampleEvent(o, TOTAL + 70_000 + j),
      raw: `<30>${'z'.repeat(20_000)} ${j}`,
    }));
    await small.writeBatch(big);
    // 20 rows of ~20 KB in statements of ~64 KB: 4 rows each (the row that crosses the bound is the last)
    expect((await statements()) - before).toBe(5);
    const ids = big.map((e) => e.eventId);
    const r = await pool.query(
      'select count(*)::int as n from siem.events where event_id = any($1::uuid[])',
      [ids],
    );
    expect(r.rows[0].n).toBe(20);
    await small.close();
  });

  it('has the server cancel a statement that outlives timeout_ms, so nothing runs on behind the retry', async () => {
    // A real slow statement: a trigger that sleeps on one marked row.
    await pool.query(`create or replace function siem.slow_row() returns trigger language plpgsql as $$
      begin if new.message = 'sleep here' then perform pg_sleep(5); end if; return new; end $$`);
    await pool.query(
      'create trigger slow_row before insert on siem.events for each row execute function siem.slow_row()',
    );
    const impatient = new EventWriter({ pool, schema: 'siem', chunkInterval: '1 day', timeoutMs: 1_500 });
    try {
      await impatient.connect();
      const started = Date.now();
      const slow = { ...sampleEvent(o, TOTAL + 80_000), message: 'sleep here' };
      const err = await impatient.writeBatch([slow]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).not.toBeNull();
      expect(Date.now() - started).toBeLessThan(4_000);
      // cancelled by the server (57014) or given up by the client just after: either way, not running
      await sleep(1_500);
      const running = await pool.query(
        `select count(*)::int as n from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and datname = current_database()`,
      );
      expect(running.rows[0].n).toBe(0);
    } finally {
      await pool.query('drop trigger slow_row on siem.events');
      await impatient.close();
    }
  });
});

describe('event writer on the TimescaleDB engine (INSERT … unnest)', () => {
  const schema = uniqueName('siem_test_writer');
  const now = Date.now();
  const o: SampleOptions = { seed: 0xbeef, fromMs: now - 86_400_000, toMs: now, count: 20_000 };
  let pool: Pool;

  beforeAll(async () => {
    pool = createPool({ url: stackUrls.timescale, size: 3, idleTimeoutMs: 0 });
    await warmPool(pool, 3);
    await migrate(pool, { schema, chunkInterval: '1 day' });
  });
  afterAll(async () => {
    await pool?.end();
    await dropSchema(stackUrls.timescale, schema);
  });

  it('picks INSERT on its own, writes, and skips a replayed batch', async () => {
    const writer = new EventWriter({ pool, schema, batchRows: 5_000 });
    await writer.connect();
    expect(writer.method).toBe('insert');
    for (let i = 0; i < o.count; i += 5_000) await writer.writeBatch(sampleBatch(o, i, i + 5_000));
    await writer.writeBatch(sampleBatch(o, 5_000, 10_000));
    expect(await counts(pool, schema)).toEqual({ rows: o.count, ids: o.count });
    await writer.close();
  });

  it('refuses COPY there (its wire server cannot take COPY FROM STDIN) before sending any', async () => {
    const writer = new EventWriter({ pool, schema, method: 'copy' });
    const err = await writer.connect().catch((e: unknown) => e);
    expect(isSiemError(err, 'SIEM_ERR_CONFIG_INVALID')).toBe(true);
    await writer.close();
    expect((await pool.query('select 1 as ok')).rows[0].ok).toBe(1);
  });
});

describe('event writer on an embedded engine this process started (COPY over its bulk channel)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'siem-writer-bulk-'));
  const now = Date.now();
  const o: SampleOptions = { seed: 0xb01c, fromMs: now - 86_400_000, toMs: now, count: 30_000 };
  let engine: EmbeddedTimescale;
  let pool: Pool;
  let writer: EventWriter;

  beforeAll(async () => {
    engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
    pool = createPool({ url: engine.url, size: 3, idleTimeoutMs: 0 });
    await migrate(pool, { schema: 'siem', chunkInterval: '1 day' });
    writer = new EventWriter({ pool, schema: 'siem', batchRows: 5_000 });
    await writer.connect();
  });
  afterAll(async () => {
    await writer?.close();
    await pool?.end();
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('picks COPY over the channel on its own, writes, and skips replayed rows', async () => {
    expect(writer.method).toBe('copy');
    expect(writer.transport).toBe('bulk_channel');
    await Promise.all([
      writer.writeBatch(sampleBatch(o, 0, 10_000)),
      writer.writeBatch(sampleBatch(o, 10_000, 20_000)),
    ]);
    expect(await counts(pool, 'siem')).toEqual({ rows: 20_000, ids: 20_000 });
    const duplicatesBefore = await counterValue(storageMetrics.rowsDuplicate);
    await writer.writeBatch(sampleBatch(o, 15_000, 25_000)); // half replayed, half new
    expect(await counts(pool, 'siem')).toEqual({ rows: 25_000, ids: 25_000 });
    expect((await counterValue(storageMetrics.rowsDuplicate)) - duplicatesBefore).toBe(5_000);
  });

  it('stores coerced values the same way as over the wire', async () => {
    const e = sampleEvent(o, 26_000);
    await writer.writeBatch([{ ...e, srcIp: '999.1.1.1', severity: 12, message: 'nul \0 inside' }]);
    const r = await pool.query(
      `select src_ip, severity, message, attrs->'_storage' as kept from siem.events where event_id = $1`,
      [e.eventId],
    );
    expect(r.rows).toEqual([
      {
        src_ip: null,
        severity: 7,
        message: 'nul \uFFFD inside',
        kept: { src_ip: '999.1.1.1', severity: 12 },
      },
    ]);
  });

  it('stores every kind of value in binary COPY exactly as the database reads the same row in COPY text', async () => {
    // The writer sends binary COPY on the channel (copy-binary.ts); the same prepared rows go as COPY
    // text into a second schema, and the engine's own reading of the text is the reference.
    await migrate(pool, { schema: 'siem_text', chunkInterval: '1 day' });
    const base = sampleEvent(o, 29_000);
    const variants: Array<Partial<NormalizedEvent>> = [
      { hostIp: '::1', srcIp: '::', dstIp: 'fe80::1%eth0' },
      {
        hostIp: '::ffff:192.0.2.1',
        srcIp: '2001:db8:0:0:1:0:0:1',
        dstIp: '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
      },
      { hostIp: '1::', srcIp: '255.255.255.255', dstIp: '0.0.0.0' },
      { time: '2026-03-01T12:00:00.1Z', receivedAt: '2026-03-01T12:00:01.123456Z' },
      { time: '2026-03-01T12:00:00.1234565Z', receivedAt: '2026-03-01T12:00:00.9999999Z' },
      { time: '2026-03-01 12:00:00+02:30', receivedAt: '2026-03-01T12:00:00.0000005-0100' },
      { time: '1969-12-31T23:59:59.999999Z', receivedAt: '2026-03-01T12:00:00Z' },
      { time: '2026-03-01T12:00:00+02', receivedAt: '2026-03-02T00:00:00.5Z' },
      { time: 'yesterday', receivedAt: '2026-03-02T00:00:00.0000015+00:00' },
      { message: 'tab\there, line\nbreak, back\\slash \\N, 中文 😀', raw: '\\N', hostName: '' },
      { message: 'lone \ud800 surrogate', userName: 'ü', appName: null, action: null },
      { processPid: 2 ** 40, classUid: -2147483648, srcPort: 0, dstPort: 65535, severity: 0 },
      { processPid: null, classUid: 2147483647, srcPort: null, dstPort: null, severity: 7, eventCode: null },
      { attrs: { nested: { deep: [1, 2.5, 'x', null, true] }, 'key with space': 'ü😀', n: 1e21 } },
      { eventId: 'not-a-uuid', tenantId: '', attrs: [] as unknown as Record<string, unknown> },
    ];
    const events = variants.map((v, i) => ({
      ...base,
      eventId: sampleEvent(o, 29_100 + i).eventId,
      ...v,
    })) as NormalizedEvent[];
    await writer.writeBatch(events);
    const rows = events.map((e) => {
      const values = new Array<string | null>(COLUMN_COUNT);
      prepareRow(e, values, {});
      return values;
    });
    for (const body of copyText(rows)) await engine.bulk!.copyEvents('siem_text', body, 'text').stored;
    const dump = async (schema: string) =>
      (
        await pool.query<{ j: string }>(
          `select row_to_json(e)::text as j from "${schema}".events e
            where event_id = any($1::uuid[]) or tenant_id = 'default' order by event_id`,
          [rows.map((r) => r[3])],
        )
      ).rows.map((r) => r.j);
    const text = await dump('siem_text');
    expect(text).toHaveLength(variants.length);
    expect(await dump('siem')).toEqual(text);
  });

  it('never runs inside a wire connection’s open transaction', async () => {
    const other = new pg.Client({ connectionString: engine.url });
    await other.connect();
    try {
      await other.query('begin');
      const seen = await other.query<{ n: number }>('select count(*)::int as n from siem.events');
      let stored = false;
      const write = writer.writeBatch(sampleBatch(o, 27_000, 28_000)).then(() => {
        stored = true;
      });
      await sleep(1_500);
      expect(stored).toBe(false); // waiting for the transaction, not inside it
      const again = await other.query<{ n: number }>('select count(*)::int as n from siem.events');
      expect(again.rows[0]!.n).toBe(seen.rows[0]!.n);
      await other.query('commit');
      await write;
      expect(stored).toBe(true);
    } finally {
      await other.end();
    }
  });

  it('answers a refused request with the SQLSTATE and keeps serving', async () => {
    const bulk = engine.bulk!;
    const bad = bulk.copyEvents('siem', Buffer.from('not\ta row of events\n'));
    const err = await bad.stored.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toMatch(/^22/);
    const badSchema = await bulk
      .copyEvents('no such; schema', Buffer.from('x\n'))
      .stored.catch((e: unknown) => e);
    expect((badSchema as Error).message).toMatch(/invalid schema name/);
    await bulk.ping();
    const before = await counts(pool, 'siem');
    await writer.writeBatch(sampleBatch(o, 28_000, 29_000));
    expect(await counts(pool, 'siem')).toEqual({ rows: before.rows + 1_000, ids: before.ids + 1_000 });
  });

  it('is not used for a pool on an engine this process did not start', async () => {
    const external = createPool({ url: stackUrls.timescale, size: 1, idleTimeoutMs: 0 });
    try {
      const w = new EventWriter({ pool: external, schema: 'siem' });
      // The stack's engine may lack the schema: only the choice matters here.
      await w.connect().catch(() => undefined);
      expect(w.transport).toBe('wire');
      await w.close();
    } finally {
      await external.end();
    }
  });

  it('reports not-connected once the engine is gone', async () => {
    await engine.stop();
    const err = await writer.writeBatch(sampleBatch(o, 29_000, 29_100)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotConnectedError);
  });
});

describe('event writer without a database', () => {
  it('reports not-connected (so the caller keeps the batch and retries)', async () => {
    const writer = new EventWriter({ url: 'postgres://postgres@127.0.0.1:1/none', schema: 'siem' });
    const err = await writer
      .writeBatch([sampleEvent({ seed: 1, fromMs: 0, toMs: 1000, count: 1 }, 0)])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotConnectedError);
    expect((err as NotConnectedError).retriable).toBe(true);
    expect((await writer.healthcheck()).ok).toBe(false);
    await writer.close();
  });
});
