import { randomBytes } from 'node:crypto';
import { eventCategories, type NormalizedEvent } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { silentLogger } from '@siem/observability';
import { createEventWriter, createPool, type EventWriter, migrate, type Pool } from '@siem/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from './server.js';
import { type Answer, apiOptions, call, event, expectedBuckets, testKey } from './testing/helpers.js';

/*
 * The same routes on the TimescaleDB engine (the stack's PGlite build): a hypertable and continuous
 * aggregates in a schema of this test's own, a few hundred rows (the engine is shared and runs one
 * query at a time), dropped afterwards.
 */

const SCHEMA = `siem_api_${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2025, 0, 20);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const reader = testKey('reader', ['read']);

const ROWS: NormalizedEvent[] = Array.from({ length: 600 }, (_, i) => {
  const time = new Date(T0 + 45 * 60_000 + i * 10 * 60_000).toISOString(); // every 10 minutes, ~4.2 days
  return event(i, {
    time,
    receivedAt: time,
    tenantId: i % 2 === 0 ? 'acme' : 'globex',
    hostName: `web-${i % 3}`,
    severity: i % 8,
    category: eventCategories[i % eventCategories.length]!,
    userName: i % 5 === 0 ? 'bob' : 'alice',
  });
});

let pool: Pool;
let writer: EventWriter;
let server: ApiServer;
let base: string;

beforeAll(async () => {
  pool = createPool({ url: stackUrls.timescale, size: 2 });
  await migrate(pool, { schema: SCHEMA, engine: 'timescaledb', chunkInterval: '1 day' });
  writer = createEventWriter({ pool, schema: SCHEMA, logger: silentLogger });
  await writer.connect();
  await writer.writeBatch(ROWS);
  server = await createApiServer({
    options: apiOptions({ port: 0, keys: [reader.entry] }),
    logger: silentLogger,
    readiness: [],
    database: { pool, schema: SCHEMA },
  });
  base = await server.listen();
}, 180_000);

afterAll(async () => {
  await server?.close();
  await writer?.close();
  await pool?.query(`drop schema if exists ${SCHEMA} cascade`);
  await pool?.end();
}, 120_000);

type Hist = { sources: string[]; buckets: Array<{ time: string; count: number }> };

describe('on the TimescaleDB engine', () => {
  it('pages newest first with the filters, without gaps or repeats', async () => {
    const expected = ROWS.filter((e) => e.tenantId === 'acme' && e.severity <= 3)
      .map((e) => e.eventId)
      .reverse();
    const got: string[] = [];
    let next: string | null = null;
    do {
      const q: string = `tenant=acme&min_severity=error&limit=40${next === null ? '' : `&next=${next}`}`;
      const r: Answer<{ data: NormalizedEvent[]; next: string | null }> = await call<{
        data: NormalizedEvent[];
        next: string | null;
      }>(base, `/api/v1/events?${q}`, {
        token: reader.token,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      got.push(...r.body.data.map((e) => e.eventId));
      next = r.body.next;
    } while (next !== null);
    expect(got).toEqual(expected);
  });

  it('pages with page/per_page in the cursor order, and answers a date that does not exist with 400', async () => {
    type Paged = { data: NormalizedEvent[]; meta: { total_count: number; total_pages: number } };
    const expected = ROWS.filter((e) => e.tenantId === 'globex')
      .map((e) => e.eventId)
      .reverse();
    const got: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await call<Paged>(base, `/api/v1/events?tenant=globex&page=${page}&per_page=120`, {
        token: reader.token,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.meta).toMatchObject({ total_count: 300, total_pages: 3 });
      got.push(...r.body.data.map((e) => e.eventId));
    }
    expect(got).toEqual(expected);
    const bad = await call<{ details: unknown }>(base, '/api/v1/events?from=2025-02-30T00:00:00Z', {
      token: reader.token,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([
      {
        parameter: 'from',
        message: '"2025-02-30T00:00:00Z" is not a valid date: day 30 does not exist in 2025-02',
      },
    ]);
  });

  it('counts histograms from the continuous aggregates, before and after they are materialized', async () => {
    const from = T0 + 2 * HOUR + 5 * 60_000;
    const to = T0 + 3 * DAY + 20 * HOUR + 55 * 60_000;
    const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
    const check = async () => {
      const daily = await call<Hist>(base, `/api/v1/events/histogram?${range}&interval=1d&host=web-1`, {
        token: reader.token,
      });
      expect(daily.status, JSON.stringify(daily.body)).toBe(200);
      expect(daily.body.sources.sort()).toEqual(['daily', 'hourly', 'raw']);
      expect(daily.body.buckets).toEqual(expectedBuckets(ROWS, from, to, DAY, (e) => e.hostName === 'web-1'));
      const raw = await call<Hist>(base, `/api/v1/events/histogram?${range}&interval=3h&user=bob`, {
        token: reader.token,
      });
      expect(raw.body.sources).toEqual(['raw']);
      expect(raw.body.buckets).toEqual(
        expectedBuckets(ROWS, from, to, 3 * HOUR, (e) => e.userName === 'bob'),
      );
    };
    await check(); // real-time aggregates: nothing materialized yet
    await pool.query(`call refresh_continuous_aggregate('${SCHEMA}.events_hourly', null, null)`);
    await pool.query(`call refresh_continuous_aggregate('${SCHEMA}.events_daily', null, null)`);
    await check();
  });
});
