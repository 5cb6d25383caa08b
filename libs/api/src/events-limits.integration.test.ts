import { randomBytes } from 'node:crypto';
import { isSiemError, type NormalizedEvent } from '@siem/core';
import { createScratchDatabase, stackUrls } from '@siem/local-stack';
import { silentLogger } from '@siem/observability';
import { createEventWriter, createPool, type EventWriter, migrate, type Pool } from '@siem/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventQueries, type PageRequest, type PageResult } from './events-sql.js';
import { parseFilter } from './filters.js';
import { type ApiServer, createApiServer } from './server.js';
import { type Answer, apiOptions, call, event, testKey } from './testing/helpers.js';

/*
 * The limits of the events query over real HTTP on each engine — a real PostgreSQL 15 (the stack's, a
 * database of this test's own) and the embedded TimescaleDB engine (the stack's PGlite build, a schema
 * of this test's own; it reads in time slices) — migrated with the project's migrations, rows written
 * by the storage writer: page/per_page paging beside the cursor, dates that do not exist, the byte
 * budget of a page, and the sliced reads giving what one statement gives.
 */

const MAX_OFFSET = 1000;
const PAGE_BYTES = 262_144;

/** 1,200 small rows in two tenants; 30 rows of ~40 KB in `bulk`; 2 rows larger than a page's budget in `huge`. */
const SMALL = Array.from({ length: 1200 }, (_, i) =>
  event(i, { tenantId: i % 2 === 0 ? 'acme' : 'globex', hostName: `web-${i % 3}` }),
);
const BULK = Array.from({ length: 30 }, (_, j) =>
  event(5000 + j, {
    tenantId: 'bulk',
    raw: `<30>${'x'.repeat(40_000)} ${j}`,
    message: `bulk ${j} "quoted"\n`,
  }),
);
const HUGE = Array.from({ length: 2 }, (_, j) =>
  event(6000 + j, { tenantId: 'huge', raw: `<30>${'y'.repeat(PAGE_BYTES + 10_000)}` }),
);
/** Rows whose JSON is 6 × their stored size: every character a control character (\u0001). */
const ESCAPED = Array.from({ length: 6 }, (_, j) =>
  event(7000 + j, { tenantId: 'escaped', raw: '\u0001'.repeat(20_000) }),
);
/** A text search's targets: one from an hour ago, one from the seeded past (2025). */
const NEEDLES = [
  event(8000, {
    tenantId: 'text',
    message: 'fresh needle',
    time: new Date(Date.now() - 3_600_000).toISOString(),
  }),
  event(8001, { tenantId: 'text', message: 'old needle' }),
];
const keyOf = (e: { tenantId: string; eventId: string }) => `${e.tenantId}/${e.eventId}`;
/** Newest first as the API orders (the seeded times are distinct, so time alone decides). */
const newestFirst = (rows: NormalizedEvent[]) =>
  [...rows].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).map(keyOf);

const reader = testKey('reader', ['read']);
const other = testKey('other', ['read']);

type Page = {
  data: NormalizedEvent[];
  next: string | null;
  total?: number | null;
  meta?: {
    current_page: number;
    per_page: number;
    total_pages: number | null;
    total_count: number | null;
    total_count_capped: boolean;
  };
  truncated: string | null;
};
type Problem = { parameter: string; message: string };
type ErrorAnswer = { code: string; message: string; details: Problem[] };

interface Database {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

const ENGINES: Array<{ name: string; kind: 'postgres' | 'timescaledb'; open(): Promise<Database> }> = [
  {
    name: 'PostgreSQL 15',
    kind: 'postgres',
    open: async () => {
      const db = await createScratchDatabase(stackUrls.postgres, 'siem_api_limits');
      return { url: db.url, schema: 'siem', drop: () => db.drop() };
    },
  },
  {
    name: 'the embedded TimescaleDB engine',
    kind: 'timescaledb',
    open: async () => {
      const schema = `siem_limits_${randomBytes(4).toString('hex')}`;
      const drop = async () => {
        const admin = createPool({ url: stackUrls.timescale, size: 1 });
        await admin.query(`drop schema if exists ${schema} cascade`);
        await admin.end();
      };
      return { url: stackUrls.timescale, schema, drop };
    },
  },
];

let db: Database;
let pool: Pool;
let writer: EventWriter;
let server: ApiServer;
let base: string;

const get = (path: string) => call<Page>(base, path, { token: reader.token });

async function walkCursor(
  query: string,
  from: string | null = null,
): Promise<{ keys: string[]; pages: Page[] }> {
  const pages: Page[] = [];
  let next: string | null = from;
  do {
    const r: Answer<Page> = await get(`/api/v1/events?${query}${next === null ? '' : `&next=${next}`}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    pages.push(r.body);
    next = r.body.next;
  } while (next !== null && pages.length < 500);
  return { keys: pages.flatMap((p) => p.data.map(keyOf)), pages };
}

describe.each(ENGINES)('on $name', (engine) => {
  beforeAll(async () => {
    db = await engine.open();
    await migrate(db.url, { schema: db.schema, engine: engine.kind, chunkInterval: '1 day' });
    pool = createPool({ url: db.url, size: 4 });
    writer = createEventWriter({ pool, schema: db.schema, chunkInterval: '1 day', logger: silentLogger });
    await writer.connect();
    await writer.writeBatch([...SMALL, ...BULK, ...HUGE, ...ESCAPED, ...NEEDLES]);
    server = await createApiServer({
      options: apiOptions({
        port: 0,
        keys: [reader.entry, other.entry],
        rate_limit: { max: 100_000 },
        query: { max_offset: MAX_OFFSET, max_page_bytes: PAGE_BYTES, max_concurrent_per_key: 2 },
      }),
      logger: silentLogger,
      readiness: [],
      database: { pool, schema: db.schema },
    });
    base = await server.listen();
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await writer?.close();
    await pool?.end();
    await db?.drop();
  }, 120_000);

  describe('page / per_page', () => {
    it('pages like an audit-log API, in the order of the cursor, with meta', async () => {
      const acme = SMALL.filter((e) => e.tenantId === 'acme');
      const got: string[] = [];
      for (let page = 1; page <= 7; page++) {
        const r = await get(`/api/v1/events?tenant=acme&page=${page}&per_page=100`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.meta).toEqual({
          current_page: page,
          per_page: 100,
          total_pages: 6,
          total_count: 600,
          total_count_capped: false,
        });
        expect(r.body.truncated).toBeNull();
        expect(r.body).not.toHaveProperty('total');
        got.push(...r.body.data.map(keyOf));
        if (page === 7) expect(r.body.data).toEqual([]);
      }
      expect(got).toEqual(newestFirst(acme));
      expect(got).toEqual((await walkCursor('tenant=acme&limit=100')).keys);
    });

    it('gives a next that continues right after the page, to walk on with the cursor', async () => {
      const r = await get('/api/v1/events?tenant=acme&tenant=globex&page=3&per_page=50');
      const rest = await walkCursor('tenant=acme&tenant=globex&limit=1000', r.body.next);
      expect([...r.body.data.map(keyOf), ...rest.keys]).toEqual(newestFirst(SMALL).slice(100));
    });

    it('counts up to query.max_offset and says when the count stopped there', async () => {
      const r = await get('/api/v1/events?tenant=acme&tenant=globex&per_page=100');
      expect(r.body.meta).toEqual({
        current_page: 1,
        per_page: 100,
        total_pages: 10,
        total_count: MAX_OFFSET,
        total_count_capped: true,
      });
      const exact = await get('/api/v1/events?tenant=acme&host=web-1&per_page=1000');
      expect(exact.body.meta).toMatchObject({ total_count: 200, total_pages: 1, total_count_capped: false });
    });

    it('refuses deep offsets, page with the cursor, and page with limit, naming the parameter', async () => {
      const first = await get('/api/v1/events?limit=5');
      const cases: Array<[string, string, RegExp]> = [
        ['page=11&per_page=100', 'page', /at most 1000: .*cursor/],
        ['page=2000', 'page', /page × per_page is 200000/],
        [`page=1&next=${first.body.next}`, 'page', /cannot be combined with next/],
        ['page=2&limit=10', 'limit', /per_page sets the size/],
        ['per_page=1001', 'per_page', /<= 1000/],
        ['page=0', 'page', />= 1/],
      ];
      for (const [query, parameter, message] of cases) {
        const r = await call<ErrorAnswer>(base, `/api/v1/events?${query}`, { token: reader.token });
        expect(r.status, query).toBe(400);
        expect(r.body.details, query).toContainEqual({ parameter, message: expect.stringMatching(message) });
      }
    });

    it('takes epoch milliseconds for from and to', async () => {
      const from = Date.parse(SMALL[100]!.time);
      const to = Date.parse(SMALL[200]!.time);
      const ms = await walkCursor(`from=${from}&to=${to}&limit=1000`);
      const iso = await walkCursor(`from=${SMALL[100]!.time}&to=${SMALL[200]!.time}&limit=1000`);
      expect(ms.keys).toEqual(newestFirst(SMALL.slice(100, 200)));
      expect(ms.keys).toEqual(iso.keys);
    });
  });

  describe('dates that do not exist', () => {
    const answered5xx = async () => {
      const text = (await call<string>(base, '/metrics')).body;
      return [
        ...text.matchAll(/siem_api_requests_total\{route="\/api\/v1\/events[^"]*",status="5\d\d"\} (\d+)/g),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    };

    it('answer 400 naming from, to or next, never 503', async () => {
      const before = await answered5xx();
      const cases: Array<[string, string]> = [
        ['from=2026-02-30', 'from'],
        ['from=2026-02-30T00:00:00Z', 'from'],
        ['to=2026-13-01T00:00:00Z', 'to'],
        ['from=2026-01-01T25:00:00Z', 'from'],
        ['to=2026-04-31', 'to'],
        ['from=2026-01-01T00:00:00%2B25:00', 'from'],
        ['from=0000-01-01', 'from'],
        ['from=1738310400000&to=2026-02-30T10:00:00Z', 'to'],
      ];
      for (const path of ['/api/v1/events', '/api/v1/events/histogram']) {
        for (const [query, parameter] of cases) {
          const r = await call<ErrorAnswer>(base, `${path}?${query}`, { token: reader.token });
          expect(r.status, `${path}?${query}: ${JSON.stringify(r.body)}`).toBe(400);
          expect(r.body.code).toBe('SIEM_ERR_REQUEST_INVALID');
          expect(r.body.details.map((d) => d.parameter)).toEqual([parameter]);
        }
      }
      expect(await answered5xx()).toBe(before);
    });

    it('answer 400 naming next when a cursor was tampered with', async () => {
      const first = await get('/api/v1/events?tenant=acme&limit=2');
      const fields = JSON.parse(Buffer.from(first.body.next!, 'base64url').toString('utf8')) as unknown[];
      for (const time of [
        '2026-02-30T00:00:00.000000Z',
        '2026-01-01T25:00:00.000000Z',
        '2026-13-01T00:00:00.000000Z',
      ]) {
        const forged = Buffer.from(JSON.stringify([fields[0], time, ...fields.slice(2)])).toString(
          'base64url',
        );
        const r = await call<ErrorAnswer>(base, `/api/v1/events?tenant=acme&limit=2&next=${forged}`, {
          token: reader.token,
        });
        expect(r.status, time).toBe(400);
        expect(r.body.details).toEqual([
          { parameter: 'next', message: 'is not a cursor returned by this API' },
        ]);
      }
    });

    it('are refused as a bad request even when a value gets past the checks to the database', async () => {
      // What every check before the query is there to prevent, forced: the database's own refusal is a 400.
      const parsed = parseFilter({});
      if ('problems' in parsed) throw new Error('filter');
      const queries = new EventQueries(pool, db.schema, 10_000);
      const err = await queries
        .page({
          filter: { ...parsed.filter, from: '2026-02-30T00:00:00Z', fromMs: 0 },
          tenants: null,
          after: null,
          limit: 1,
          countLimit: 0,
          countTimeoutMs: 100,
        })
        .catch((e: unknown) => e);
      expect(isSiemError(err, 'SIEM_ERR_REQUEST_INVALID'), String(err)).toBe(true);
    });
  });

  describe('byte budget of a page', () => {
    it('stops a page at query.max_page_bytes, says so, and next continues right after it', async () => {
      const { keys, pages } = await walkCursor('tenant=bulk&limit=100');
      expect(keys).toEqual(newestFirst(BULK));
      expect(pages.length).toBeGreaterThan(3);
      for (const p of pages.slice(0, -1)) {
        expect(p.truncated).toBe('byte_budget');
        expect(p.data.length).toBeGreaterThan(1);
        expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(PAGE_BYTES);
      }
      expect(pages.at(-1)!.truncated).toBeNull();
      expect(pages[0]!.total).toBe(BULK.length); // counted although the page is short
    });

    it('counts the bytes escaping adds, not only the stored ones', async () => {
      const { keys, pages } = await walkCursor('tenant=escaped&limit=100');
      expect(keys).toEqual(newestFirst(ESCAPED));
      for (const p of pages) expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(PAGE_BYTES);
      expect(pages.map((p) => p.data.length)).toEqual([2, 2, 2]);
    });

    it('still sends one event larger than the budget, alone, so paging always moves on', async () => {
      const { keys, pages } = await walkCursor('tenant=huge&limit=10');
      expect(keys).toEqual(newestFirst(HUGE));
      expect(pages.map((p) => [p.data.length, p.truncated])).toEqual([
        [1, 'byte_budget'],
        [1, null],
      ]);
    });

    it('applies in page mode too, with the cursor to follow', async () => {
      const r = await get('/api/v1/events?tenant=bulk&page=1&per_page=30');
      expect(r.body.truncated).toBe('byte_budget');
      expect(r.body.data.length).toBeLessThan(30);
      expect(r.body.meta).toMatchObject({ total_count: 30, total_pages: 1 });
      const rest = await walkCursor('tenant=bulk&limit=100', r.body.next);
      expect([...r.body.data.map(keyOf), ...rest.keys]).toEqual(newestFirst(BULK));
    });
  });

  describe('readers cannot starve the others', () => {
    it('bounds a text search without from to query.text_search_hours and says so', async () => {
      const before = Date.now();
      const open = await get('/api/v1/events?q=needle&limit=10');
      expect(open.status).toBe(200);
      expect(open.body.data.map((e) => e.message)).toEqual(['fresh needle']);
      const searchedFrom = Date.parse((open.body as Page & { searched_from: string }).searched_from);
      expect(searchedFrom).toBeGreaterThanOrEqual(before - 24 * 3_600_000 - 1000);
      expect(searchedFrom).toBeLessThanOrEqual(Date.now() - 24 * 3_600_000 + 1000);
      const ranged = await get('/api/v1/events?q=needle&from=2025-01-01T00:00:00Z&limit=10');
      expect(ranged.body.data.map((e) => e.message)).toEqual(['fresh needle', 'old needle']);
      expect((ranged.body as Page & { searched_from: string | null }).searched_from).toBeNull();
    });

    // A lock on the embedded engine holds the one session: nothing else runs, so this needs a server.
    if (engine.kind === 'postgres') {
      it('answers 429 beyond query.max_concurrent_per_key running queries of one key, not of another', async () => {
        // A real lock held on the events table keeps the API's queries running for as long as the test wants.
        const lock = await pool.connect();
        try {
          await lock.query(`begin; lock table ${db.schema}.events in access exclusive mode`);
          const held = [
            get('/api/v1/events?tenant=acme&limit=1'),
            get('/api/v1/events/histogram?tenant=acme'),
          ];
          await new Promise((r) => setTimeout(r, 300)); // both reach the database and wait on the lock
          const third = await call<ErrorAnswer>(base, '/api/v1/events?tenant=acme&limit=1', {
            token: reader.token,
          });
          expect(third.status).toBe(429);
          expect(third.body.code).toBe('SIEM_ERR_RATE_LIMITED');
          expect(third.body.message).toMatch(/max_concurrent_per_key/);
          expect(third.headers.get('retry-after')).toBe('1');
          // another key is not refused: it waits on the lock like the first two
          const others = call(base, '/api/v1/events?tenant=acme&limit=1', { token: other.token });
          await new Promise((r) => setTimeout(r, 300));
          await lock.query('rollback');
          const answers = await Promise.all([...held, others]);
          expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
          expect((await get('/api/v1/events?tenant=acme&limit=1')).status).toBe(200);
        } finally {
          await lock.query('rollback').catch(() => undefined);
          lock.release();
        }
      });
    }
  });

  describe('read in slices', () => {
    /** Windows of a second or a few (a row per second here): every page crosses many slice edges. */
    const fine = { sliced: true, initialMs: 1_000, minWindowMs: 1_000, budget: { rows: 1, bytes: 1e12 } };
    const filter = (params: Record<string, string>) => {
      const parsed = parseFilter(params);
      if ('problems' in parsed) throw new Error(JSON.stringify(parsed.problems));
      return parsed.filter;
    };
    const at = (e: NormalizedEvent, plusMs = 0) => new Date(Date.parse(e.time) + plusMs).toISOString();
    const walk = async (queries: EventQueries, request: Omit<PageRequest, 'after'>) => {
      const pages: PageResult[] = [];
      let after: PageRequest['after'] = null;
      do {
        const page = await queries.page({ ...request, after });
        pages.push(page);
        after = page.next;
      } while (after !== null && pages.length < 100);
      return pages;
    };

    it('gives the pages, totals, cursors and byte cuts one statement gives', async () => {
      const whole = new EventQueries(pool, db.schema, 60_000, { sliced: false });
      const sliced = new EventQueries(pool, db.schema, 60_000, fine);
      const small = filter({ from: at(SMALL[0]!), to: at(SMALL.at(-1)!, 1000) });
      const requests: Array<Omit<PageRequest, 'after'>> = [
        { filter: small, tenants: null, limit: 50, countLimit: 100, countTimeoutMs: 60_000 },
        { filter: small, tenants: ['acme'], limit: 70, countLimit: 1000, countTimeoutMs: 60_000 },
        {
          filter: { ...small, hosts: ['web-1'] },
          tenants: null,
          limit: 33,
          countLimit: 0,
          countTimeoutMs: 1,
        },
        // a `to` with microseconds: the row at its millisecond is in
        {
          filter: filter({ from: at(SMALL[0]!), to: at(SMALL[100]!).replace(/Z$/, '500Z') }),
          tenants: null,
          limit: 30,
          countLimit: 1000,
          countTimeoutMs: 60_000,
        },
        {
          filter: filter({ from: at(BULK[0]!), to: at(BULK.at(-1)!, 1000) }),
          tenants: null,
          limit: 100,
          maxBytes: PAGE_BYTES,
          countLimit: 1000,
          countTimeoutMs: 60_000,
        },
        {
          filter: filter({ from: at(HUGE[0]!), to: at(HUGE.at(-1)!, 1000) }),
          tenants: null,
          limit: 10,
          maxBytes: PAGE_BYTES,
          countLimit: 10,
          countTimeoutMs: 60_000,
        },
      ];
      // an hour-wide first window that the probe narrows to a few rows each time
      const probed = new EventQueries(pool, db.schema, 60_000, {
        sliced: true,
        initialMs: 3_600_000,
        minWindowMs: 1_000,
        budget: { rows: 7, bytes: 1_000_000 },
      });
      for (const request of requests) {
        const expected = await walk(whole, request);
        expect(expected.flatMap((p) => p.events).length).toBeGreaterThan(1);
        expect(await walk(sliced, request)).toEqual(expected);
        expect(await walk(probed, request)).toEqual(expected);
      }
      // offsets, landing inside a slice and on its edge
      for (const offset of [0, 1, 75, 599, 600]) {
        const request = {
          filter: small,
          tenants: ['acme'],
          after: null,
          offset,
          limit: 20,
          countLimit: 1000,
          countTimeoutMs: 60_000,
        };
        expect(await sliced.page(request), `offset ${offset}`).toEqual(await whole.page(request));
      }
      const histogram = {
        tenants: null,
        fromMs: Date.parse(at(SMALL[0]!)),
        toMs: Date.parse(at(SMALL.at(-1)!, 1000)),
        intervalMs: 60_000,
      };
      for (const f of [small, { ...small, text: 'needle' }, { ...small, hosts: ['web-2'] }]) {
        expect(await sliced.histogram({ ...histogram, filter: f })).toEqual(
          await whole.histogram({ ...histogram, filter: f }),
        );
      }
    }, 120_000);

    it('enforces the query timeout between slices, and leaves the count out past its own', async () => {
      const sliced = new EventQueries(pool, db.schema, 1, fine);
      const small = filter({ from: at(SMALL[0]!), to: at(SMALL.at(-1)!, 1000) });
      // hundreds of slices of a few seconds cannot all run within a millisecond
      const err = await sliced
        .page({
          filter: { ...small, text: 'nowhere' },
          tenants: null,
          after: null,
          limit: 10,
          countLimit: 0,
          countTimeoutMs: 1,
        })
        .catch((e: unknown) => e);
      expect(isSiemError(err, 'SIEM_ERR_TIMEOUT'), String(err)).toBe(true);
      const counted = await new EventQueries(pool, db.schema, 60_000, fine).page({
        filter: small,
        tenants: null,
        after: null,
        limit: 10,
        countLimit: 1000,
        countTimeoutMs: 1,
      });
      expect(counted.events).toHaveLength(10);
      expect(counted.total).toBeNull();
    }, 120_000);
  });
});
