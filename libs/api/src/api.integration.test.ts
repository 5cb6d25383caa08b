import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAgainst } from '@siem/config';
import {
  type BufferRecord,
  eventCategories,
  eventOutcomes,
  type Intake,
  type NormalizedEvent,
  type OfferResult,
} from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { silentLogger } from '@siem/observability';
import { AdapterRegistry, FileDeadLetters, NormalizingSink } from '@siem/runtime';
import { createEventWriter, createPool, type EventWriter, migrate, type Pool } from '@siem/storage';
import { syslogUdpAdapter, syslogUdpOptionsSchema } from '@siem/syslog';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeAccess } from './auth.js';
import { type ApiServer, createApiServer } from './server.js';
import {
  type Answer,
  apiOptions,
  call,
  expectedBuckets,
  TailClient,
  type TestKey,
  testKey,
  upgradeRefusal,
  waitFor,
} from './testing/helpers.js';

/*
 * The API over real HTTP against a real PostgreSQL 15 (the stack's, in a database of this test's
 * own, migrated with the project's migrations, events written by the storage writer) and a real
 * AdapterRegistry running the syslog UDP adapter, whose events go through the normalizing sink into
 * the database and the live tail.
 */

const DB = `siem_api_${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2025, 0, 20);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TENANTS = ['acme', 'globex', 'initech'];
const HOSTS = ['web-1', 'web-2', 'web-3', 'db-1', null];
const USERS = ['alice', 'bob', "o'brien", null];
const ACTIONS = ['login', 'logout', 'connect', null];
const SOURCES = ['syslog', 'windows', 'cloudtrail'] as const;

function iso6(ms: number, micros = 0): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

function id(i: number, salt = 0): string {
  return `0194${salt.toString(16).padStart(4, '0')}-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** The seeded events: every filterable field varies; some rows tie on time, some on time and id across tenants. */
function seed(): NormalizedEvent[] {
  const out: NormalizedEvent[] = [];
  for (let i = 0; i < 2400; i++) {
    const ms = T0 + 90 * 60_000 + i * 150_000; // every 2.5 minutes from 01:30 on day 0, ~4.2 days
    const tenant = TENANTS[i % 3]!;
    const user = USERS[i % 4] ?? null;
    const e: NormalizedEvent = {
      time: iso6(ms, (i * 37) % 1000),
      receivedAt: iso6(ms + 100),
      tenantId: tenant,
      eventId: id(i),
      sourceType: SOURCES[i % 3]!,
      hostName: HOSTS[i % 5] ?? null,
      hostIp: `192.168.0.${i % 250}`,
      appName: 'sshd',
      severity: i % 8,
      category: eventCategories[i % eventCategories.length]!,
      action: ACTIONS[i % 4] ?? null,
      outcome: eventOutcomes[i % 3]!,
      userName: user,
      srcIp:
        i % 7 === 0
          ? `2001:db8:${(i % 3).toString(16)}::${(i % 100).toString(16)}`
          : `10.${i % 4}.${(i >> 4) % 256}.${i % 256}`,
      srcPort: 1024 + i,
      dstIp: i % 5 === 0 ? null : `172.16.${i % 2}.1`,
      dstPort: 22,
      processName: 'sshd',
      processPid: 1000 + i,
      eventCode: i % 6 === 0 ? '4625' : i % 6 === 1 ? '4624' : null,
      message:
        i % 10 === 0
          ? `100% done_ok for ${user ?? 'nobody'}`
          : `${i % 2 === 0 ? 'Failed' : 'Accepted'} password for ${user ?? 'nobody'} from host ${i}`,
      attrs: { seq: i },
      raw: `<34>raw ${i}`,
      classUid: null,
    };
    out.push(e);
    if (i % 100 === 0) {
      // the same time and id in another tenant, and another event of the same tenant at the same microsecond
      out.push({ ...e, tenantId: TENANTS[(i + 1) % 3]!, attrs: { seq: i, twin: 'tenant' } });
      out.push({ ...e, eventId: id(i, 1), attrs: { seq: i, twin: 'id' } });
    }
  }
  return out;
}

const ROWS = seed();
const keyOf = (e: { tenantId: string; eventId: string }) => `${e.tenantId}/${e.eventId}`;
/** Newest first: time, event id, tenant, all descending (times are same-width ISO strings). */
const byApiOrder = (a: NormalizedEvent, b: NormalizedEvent) =>
  a.time !== b.time
    ? a.time < b.time
      ? 1
      : -1
    : a.eventId !== b.eventId
      ? a.eventId < b.eventId
        ? 1
        : -1
      : a.tenantId < b.tenantId
        ? 1
        : a.tenantId > b.tenantId
          ? -1
          : 0;

const K = {
  all: testKey('all', ['read', 'tail', 'admin', 'ingest']),
  admin: testKey('admin', ['admin']),
  reader: testKey('reader', ['read']),
  tailer: testKey('tailer', ['tail']),
  ingester: testKey('ingester', ['ingest']),
  acme: testKey('acme-analyst', ['read', 'tail'], 'acme'),
} satisfies Record<string, TestKey>;

/** The simplest DeadLetters (the interface, not a double of a service): the test looks at what lands here. */
class CollectingIntake implements Intake {
  readonly rejectReason = 'none';
  readonly pending: Promise<void>[] = [];
  constructor(readonly sink: NormalizingSink) {}
  offer(records: BufferRecord[]): OfferResult {
    this.pending.push(this.sink.writeBatch(records));
    return 'ok';
  }
  onResume(): () => void {
    return () => undefined;
  }
}

let admin: pg.Client;
let url: string;
let pool: Pool;
let writer: EventWriter;
let registry: AdapterRegistry;
let server: ApiServer;
let base: string;
let wsBase: string;
let dlqDir: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: stackUrls.postgres });
  await admin.connect();
  await admin.query(`create database ${DB}`);
  url = stackUrls.postgres.replace(/\/siem$/, `/${DB}`);
  await migrate(url, { schema: 'siem', engine: 'postgres', chunkInterval: '1 day' });
  pool = createPool({ url, size: 4 });
  writer = createEventWriter({ pool, schema: 'siem', chunkInterval: '1 day', logger: silentLogger });
  await writer.connect();
  await writer.writeBatch(ROWS);

  dlqDir = mkdtempSync(join(tmpdir(), 'siem-api-dlq-'));
  let serverRef: ApiServer | null = null;
  const sink = new NormalizingSink({
    writer,
    deadLetters: new FileDeadLetters(dlqDir, { maxBytes: 1 << 30, retentionDays: 14 }),
    onStored: (rows) => serverRef?.publishStored(rows),
    logger: silentLogger,
  });
  const intake = new CollectingIntake(sink);
  registry = new AdapterRegistry(
    (_name, options) => ({
      intake,
      tenant: (options.tenant as string | undefined) ?? 'default',
      keyBy: 'host',
      logger: silentLogger,
    }),
    silentLogger,
  );
  const udpOptions = { host: '127.0.0.1', port: 0, kernel_stats_interval_ms: 0, tenant: 'udp-tenant' };
  checkAgainst(syslogUdpOptionsSchema, udpOptions);
  registry.register('syslog_udp', syslogUdpAdapter, udpOptions);
  await registry.startEnabled();

  server = await createApiServer({
    options: apiOptions({
      port: 0,
      keys: Object.values(K).map((k) => k.entry),
      rate_limit: { max: 100_000 },
    }),
    logger: silentLogger,
    readiness: [{ name: 'database', check: () => writer.healthcheck() }],
    adapters: registry,
    database: { pool, schema: 'siem' },
  });
  serverRef = server;
  // what another library (the cloud intake) does: a route of its own that needs the ingest scope
  server.app.post(
    '/api/v1/test-intake',
    { config: routeAccess('ingest'), schema: { body: { type: 'object' } } },
    async (req) => ({ accepted: true, tenant: req.principal?.tenant ?? null }),
  );
  base = await server.listen();
  wsBase = base.replace(/^http/, 'ws');
}, 120_000);

afterAll(async () => {
  await server?.close();
  await registry?.stopAll();
  await writer?.close();
  await pool?.end();
  await admin.query(`drop database if exists ${DB} with (force)`);
  await admin.end();
  rmSync(dlqDir, { recursive: true, force: true });
});

type Page = { data: NormalizedEvent[]; next: string | null; total: number | null; total_exact: boolean };

async function walk(
  query: string,
  token: string,
  limit: number,
): Promise<{ events: NormalizedEvent[]; pages: number }> {
  const events: NormalizedEvent[] = [];
  let next: string | null = null;
  let pages = 0;
  do {
    const sep = query === '' ? '' : '&';
    const q: string = `${query}${sep}limit=${limit}${next === null ? '' : `&next=${encodeURIComponent(next)}`}`;
    const r: Answer<Page> = await call<Page>(base, `/api/v1/events?${q}`, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    events.push(...r.body.data);
    next = r.body.next;
    pages++;
  } while (next !== null && pages < 1000);
  return { events, pages };
}

describe('events query', () => {
  const cases: Array<[string, (e: NormalizedEvent) => boolean]> = [
    ['tenant=globex', (e) => e.tenantId === 'globex'],
    ['host=web-1', (e) => e.hostName === 'web-1'],
    ['host=web-1&host=db-1', (e) => e.hostName === 'web-1' || e.hostName === 'db-1'],
    ['source_type=windows', (e) => e.sourceType === 'windows'],
    ['severity=error&severity=0', (e) => e.severity === 3 || e.severity === 0],
    ['min_severity=critical', (e) => e.severity <= 2],
    ['category=network', (e) => e.category === 'network'],
    ['action=logout', (e) => e.action === 'logout'],
    ['outcome=failure', (e) => e.outcome === 'failure'],
    ["user=o'brien", (e) => e.userName === "o'brien"],
    ['src_ip=10.2.0.0/16', (e) => e.srcIp?.startsWith('10.2.') === true],
    [
      'src_ip=2001:db8:1::/48&src_ip=10.0.3.3',
      (e) => e.srcIp?.startsWith('2001:db8:1::') === true || e.srcIp === '10.0.3.3',
    ],
    ['dst_ip=172.16.1.1', (e) => e.dstIp === '172.16.1.1'],
    ['event_code=4625', (e) => e.eventCode === '4625'],
    [
      'q=ACCEPTED%20PASSWORD%20FOR%20BOB&from=2025-01-01T00:00:00Z',
      (e) => e.message?.toLowerCase().includes('accepted password for bob') === true,
    ],
    ['q=100%25%20done_ok&from=2025-01-01T00:00:00Z', (e) => e.message?.includes('100% done_ok') === true],
    ['q=_&from=2025-01-01T00:00:00Z', (e) => e.message?.includes('_') === true],
    [
      `from=${encodeURIComponent(new Date(T0 + DAY).toISOString())}&to=${(T0 + 2 * DAY) / 1000}`,
      (e) => e.time >= iso6(T0 + DAY) && e.time < iso6(T0 + 2 * DAY),
    ],
    [
      'tenant=acme&host=web-2&outcome=success&action=login&min_severity=6',
      (e) =>
        e.tenantId === 'acme' &&
        e.hostName === 'web-2' &&
        e.outcome === 'success' &&
        e.action === 'login' &&
        e.severity <= 6,
    ],
  ];

  it.each(cases)('%s returns exactly the matching rows, newest first', async (query, predicate) => {
    const expected = ROWS.filter(predicate).sort(byApiOrder).map(keyOf);
    expect(expected.length).toBeGreaterThan(0);
    const { events } = await walk(query, K.reader.token, 1000);
    expect(events.map(keyOf)).toEqual(expected);
  });

  it('walks the whole table page by page without gaps or repeats, ties included', async () => {
    const { events, pages } = await walk('', K.reader.token, 37);
    expect(events.map(keyOf)).toEqual([...ROWS].sort(byApiOrder).map(keyOf));
    expect(pages).toBe(Math.ceil(ROWS.length / 37));
    const tenantOnly = await walk('tenant=initech&tenant=acme', K.reader.token, 50);
    expect(tenantOnly.events.map(keyOf)).toEqual(
      ROWS.filter((e) => e.tenantId !== 'globex')
        .sort(byApiOrder)
        .map(keyOf),
    );
  });

  it('returns events as stored, with microseconds, and a total on the first page', async () => {
    const r = await call<Page>(base, '/api/v1/events?event_code=4624&tenant=acme&limit=5', {
      token: K.reader.token,
    });
    const expected = ROWS.filter((e) => e.eventCode === '4624' && e.tenantId === 'acme').sort(byApiOrder);
    expect(r.body.total).toBe(expected.length);
    expect(r.body.total_exact).toBe(true);
    expect(r.body.data[0]).toEqual(expected[0]);
    const all = await call<Page>(base, '/api/v1/events?limit=1', { token: K.reader.token });
    expect(all.body).toMatchObject({ total: ROWS.length, total_exact: true });
    const second = await call<Page>(base, `/api/v1/events?limit=1&next=${all.body.next}`, {
      token: K.reader.token,
    });
    expect(second.body.total).toBeNull();
  });

  it('refuses a cursor passed with other filters', async () => {
    const first = await call<Page>(base, '/api/v1/events?host=web-1&limit=2', { token: K.reader.token });
    const r = await call(base, `/api/v1/events?host=web-2&limit=2&next=${first.body.next}`, {
      token: K.reader.token,
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/next was issued for other filters/);
  });

  it('binds every value: injection attempts in every filter change nothing', async () => {
    const payloads = [
      "' OR '1'='1",
      "x'; DROP TABLE siem.events; --",
      '1) or (1=1',
      "\\'; select pg_sleep(5); --",
      "%' or '%'='",
      'web-1\u0000',
    ];
    const params = [
      'tenant',
      'host',
      'source_type',
      'severity',
      'min_severity',
      'category',
      'action',
      'outcome',
      'user',
      'src_ip',
      'dst_ip',
      'event_code',
      'q',
      'from',
      'to',
      'next',
      'limit',
    ];
    for (const param of params) {
      for (const payload of payloads) {
        for (const path of ['/api/v1/events', '/api/v1/events/histogram']) {
          // the histogram over the seeded days (else it would count the last 24 hours: trivially nothing)
          const range =
            path === '/api/v1/events' || param === 'from' || param === 'to'
              ? ''
              : `&from=${new Date(T0).toISOString()}&to=${new Date(T0 + 5 * DAY).toISOString()}`;
          const r = await call<Page>(base, `${path}?${param}=${encodeURIComponent(payload)}${range}`, {
            token: K.reader.token,
          });
          expect([200, 400], `${path} ${param}=${payload}: ${JSON.stringify(r.body)}`).toContain(r.status);
          if (r.status === 200 && path === '/api/v1/events') expect(r.body.data).toEqual([]);
          if (r.status === 200 && path !== '/api/v1/events')
            expect((r.body as unknown as { total: number }).total).toBe(0);
        }
      }
    }
    const count = await pool.query<{ n: number }>('select count(*)::int as n from siem.events');
    expect(count.rows[0]!.n).toBe(ROWS.length);
  });
});

describe('histogram', () => {
  async function refreshRollups(to: number): Promise<void> {
    await pool.query('select siem.refresh_rollups($1, $2)', [new Date(T0 - DAY), new Date(to)]);
    await pool.query('update siem.rollup_state set refreshed_to = $1', [new Date(to)]);
  }

  type Hist = { sources: string[]; buckets: Array<{ time: string; count: number }>; total: number };
  const from = T0 + 2 * HOUR + 17 * 60_000; // ragged on purpose
  const to = T0 + 4 * DAY + 5 * HOUR + 3 * 60_000;
  const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;

  it('counts exactly from the raw rows before the rollups are refreshed', async () => {
    const r = await call<Hist>(base, `/api/v1/events/histogram?${range}&interval=1d`, {
      token: K.reader.token,
    });
    expect(r.body.sources).toEqual(['raw']);
    expect(r.body.buckets).toEqual(expectedBuckets(ROWS, from, to, DAY, () => true));
  });

  it('counts whole days and hours from the rollups and the ragged ends raw, with the same result', async () => {
    await refreshRollups(T0 + 6 * DAY);
    const daily = await call<Hist>(
      base,
      `/api/v1/events/histogram?${range}&interval=1d&tenant=acme&min_severity=4`,
      {
        token: K.reader.token,
      },
    );
    expect(daily.body.sources.sort()).toEqual(['daily', 'hourly', 'raw']);
    expect(daily.body.buckets).toEqual(
      expectedBuckets(ROWS, from, to, DAY, (e) => e.tenantId === 'acme' && e.severity <= 4),
    );

    const hourly = await call<Hist>(base, `/api/v1/events/histogram?${range}&interval=6h&host=web-1`, {
      token: K.reader.token,
    });
    expect(hourly.body.sources.sort()).toEqual(['hourly', 'raw']);
    expect(hourly.body.buckets).toEqual(
      expectedBuckets(ROWS, from, to, 6 * HOUR, (e) => e.hostName === 'web-1'),
    );

    // a filter the rollups do not carry: raw only, same answer
    const users = await call<Hist>(base, `/api/v1/events/histogram?${range}&interval=1d&user=bob`, {
      token: K.reader.token,
    });
    expect(users.body.sources).toEqual(['raw']);
    expect(users.body.buckets).toEqual(expectedBuckets(ROWS, from, to, DAY, (e) => e.userName === 'bob'));
  });

  it('counts raw past the last rollup refresh', async () => {
    await refreshRollups(T0 + 2 * DAY + 7 * HOUR + 30 * 60_000);
    const r = await call<Hist>(base, `/api/v1/events/histogram?${range}&interval=1h`, {
      token: K.reader.token,
    });
    expect(r.body.sources.sort()).toEqual(['hourly', 'raw']);
    expect(r.body.buckets).toEqual(expectedBuckets(ROWS, from, to, HOUR, () => true));
  });

  it('refuses too many buckets', async () => {
    const r = await call(base, `/api/v1/events/histogram?${range}&interval=1s`, { token: K.reader.token });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/buckets/);
  });
});

describe('tenant isolation', () => {
  it("never shows a tenant-bound key another tenant's events", async () => {
    const { events } = await walk('', K.acme.token, 200);
    expect(events.map(keyOf)).toEqual(
      ROWS.filter((e) => e.tenantId === 'acme')
        .sort(byApiOrder)
        .map(keyOf),
    );
    for (const q of ['tenant=globex', 'tenant=acme&tenant=globex', "tenant=acme' or '1'='1"]) {
      const r = await call(base, `/api/v1/events?${q}`, { token: K.acme.token });
      expect(r.status).toBe(403);
      const h = await call(base, `/api/v1/events/histogram?${q}`, { token: K.acme.token });
      expect(h.status).toBe(403);
    }
    // a cursor taken from an unrestricted key's page still only yields acme rows
    const other = await call<Page>(base, '/api/v1/events?limit=3', { token: K.reader.token });
    const r = await call<Page>(base, `/api/v1/events?limit=1000&next=${other.body.next}`, {
      token: K.acme.token,
    });
    expect(r.body.data.every((e) => e.tenantId === 'acme')).toBe(true);
    const h = await call<{ total: number }>(
      base,
      `/api/v1/events/histogram?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 5 * DAY).toISOString()}&interval=1d`,
      { token: K.acme.token },
    );
    expect(h.body.total).toBe(ROWS.filter((e) => e.tenantId === 'acme').length);
  });
});

describe('adapters', () => {
  type View = {
    name: string;
    state: string;
    listen: string | null;
    options: Record<string, unknown>;
    counters: Record<string, number>;
  };

  it('lists, gets, stops and starts an adapter', async () => {
    const list = await call<{ data: View[] }>(base, '/api/v1/adapters', { token: K.reader.token });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ name: 'syslog_udp', type: 'syslog_udp', state: 'running' });
    expect(list.body.data[0]!.listen).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
    expect(list.body.data[0]!.counters).toHaveProperty('received_events');
    const schema = await call<{ properties: Record<string, unknown> }>(
      base,
      '/api/v1/adapters/syslog_udp/schema',
      {
        token: K.reader.token,
      },
    );
    expect(Object.keys(schema.body.properties)).toContain('port');

    const stopped = await call<View>(base, '/api/v1/adapters/syslog_udp/stop', {
      method: 'POST',
      token: K.admin.token,
    });
    expect(stopped.body).toMatchObject({ state: 'stopped', listen: null });
    const started = await call<View>(base, '/api/v1/adapters/syslog_udp/start', {
      method: 'POST',
      token: K.admin.token,
    });
    expect(started.body.state).toBe('running');
    expect((await call(base, '/api/v1/adapters/nope', { token: K.reader.token })).status).toBe(404);
  });

  it('rejects a bad configuration with every problem and leaves the adapter running as it was', async () => {
    const before = await call<View>(base, '/api/v1/adapters/syslog_udp', { token: K.reader.token });
    const bad = await call<{ code: string; details: Array<{ path: string }> }>(
      base,
      '/api/v1/adapters/syslog_udp/config',
      {
        method: 'PUT',
        token: K.admin.token,
        body: { port: 70_000, format: 'xml', colour: 'red', host: '127.0.0.1' },
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('SIEM_ERR_CONFIG_INVALID');
    expect(bad.body.details.map((d) => d.path).sort()).toEqual(['/colour', '/format', '/port']);
    const after = await call<View>(base, '/api/v1/adapters/syslog_udp', { token: K.reader.token });
    expect(after.body).toEqual({ ...before.body, counters: after.body.counters });
  });

  it('applies a good configuration and restarts the adapter with it', async () => {
    const r = await call<View>(base, '/api/v1/adapters/syslog_udp/config', {
      method: 'PUT',
      token: K.admin.token,
      body: {
        host: '127.0.0.1',
        port: 0,
        kernel_stats_interval_ms: 0,
        tenant: 'udp-tenant',
        max_message_bytes: 4096,
      },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'running', options: { max_message_bytes: 4096 } });
  });

  it('takes the options as YAML too, and answers bad YAML with its line, leaving the adapter as it was', async () => {
    const yaml = (text: string) =>
      call<View & { code: string; message: string; details: Array<{ path: string; message: string }> }>(
        base,
        '/api/v1/adapters/syslog_udp/config',
        {
          method: 'PUT',
          token: K.admin.token,
          rawBody: text,
          headers: { 'content-type': 'application/yaml' },
        },
      );
    const good = await yaml(
      '# as in the configuration file\nhost: 127.0.0.1\nport: 0\nkernel_stats_interval_ms: 0\ntenant: udp-tenant\nmax_message_bytes: 8192\n',
    );
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ state: 'running', options: { max_message_bytes: 8192 } });

    const before = await call<View>(base, '/api/v1/adapters/syslog_udp', { token: K.reader.token });
    const syntax = await yaml('host: 127.0.0.1\nport: [0\n');
    expect(syntax.status).toBe(400);
    expect(syntax.body.code).toBe('SIEM_ERR_CONFIG_INVALID');
    expect(syntax.body.details[0]?.message).toMatch(/not valid YAML: .*line 3/);
    const list = await yaml('- port: 0\n');
    expect(list.status).toBe(400);
    expect(list.body.details[0]?.message).toBe('must be a YAML mapping of option: value');
    const invalid = await yaml('host: 127.0.0.1\nport: 70000\n');
    expect(invalid.status).toBe(400);
    expect(invalid.body.details.map((d) => d.path)).toEqual(['/port']);
    // an alias bomb is refused by the parser's alias limit, not expanded
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    const bombed = await yaml(`${bomb.join('\n')}\n`);
    expect(bombed.status).toBe(400);
    expect(bombed.body.details[0]?.message).toMatch(/not valid YAML: .*alias/i);
    const after = await call<View>(base, '/api/v1/adapters/syslog_udp', { token: K.reader.token });
    expect(after.body).toEqual({ ...before.body, counters: after.body.counters });
  });
});

describe('live tail through the pipeline', () => {
  it('delivers events stored after it connected, and the query finds them', async () => {
    const host = `tail-host-${randomBytes(3).toString('hex')}`;
    const client = new TailClient(`${wsBase}/api/v1/tail?host=${host}`, K.tailer.token);
    await client.opened;
    const view = await call<{ listen: string }>(base, '/api/v1/adapters/syslog_udp', {
      token: K.reader.token,
    });
    const port = Number(view.body.listen.split(':').at(-1));
    const udp = createSocket('udp4');
    const lines = [1, 2, 3].map(
      (n) => `<34>1 ${new Date().toISOString()} ${host} sshd 42 - - tail message ${n}`,
    );
    for (const line of lines)
      await new Promise<void>((res) => udp.send(line, port, '127.0.0.1', () => res()));
    udp.close();
    await waitFor(() => client.events().length === 3, 'three tailed events');
    expect(client.events().map((e) => e.message)).toEqual([
      'tail message 1',
      'tail message 2',
      'tail message 3',
    ]);
    expect(client.events().every((e) => e.hostName === host && e.tenantId === 'udp-tenant')).toBe(true);
    const stored = await call<Page>(base, `/api/v1/events?host=${host}`, { token: K.reader.token });
    expect(stored.body.data.map((e) => e.message)).toEqual([
      'tail message 3',
      'tail message 2',
      'tail message 1',
    ]);
    await client.close();
  });
});

describe('time from the future', () => {
  it('an event dated 2199 is stored at its receive time, so it does not stay first in newest-first results', async () => {
    const host = `clock-skew-${randomBytes(3).toString('hex')}`;
    const view = await call<{ listen: string }>(base, '/api/v1/adapters/syslog_udp', {
      token: K.reader.token,
    });
    const port = Number(view.body.listen.split(':').at(-1));
    const udp = createSocket('udp4');
    const send = (line: string) => new Promise<void>((res) => udp.send(line, port, '127.0.0.1', () => res()));
    const sentAt = Date.now();
    await send(`<34>1 2199-01-01T00:00:00Z ${host} sshd 42 - - from the future`);
    await send(`<34>1 ${new Date(Date.now() + 1000).toISOString()} ${host} sshd 42 - - from now`);
    udp.close();
    let stored: Page = { data: [], next: null, total: null, total_exact: true };
    const deadline = Date.now() + 10_000;
    while (stored.data.length < 2 && Date.now() < deadline) {
      stored = (await call<Page>(base, `/api/v1/events?host=${host}`, { token: K.reader.token })).body;
      if (stored.data.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stored.data.map((e) => e.message)).toEqual(['from now', 'from the future']);
    const future = stored.data[1]!;
    expect(future.time).toBe(future.receivedAt);
    expect(Date.parse(future.time)).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(Date.parse(future.time)).toBeLessThanOrEqual(Date.now());
    expect(future.attrs.event).toEqual({
      original_time: expect.stringMatching(/^2199-01-01T00:00:00/),
      time_clamped: 'future',
    });
    // newest first over every tenant: not the 2199 event
    const newest = await call<Page>(base, '/api/v1/events?limit=1', { token: K.reader.token });
    expect(newest.body.data[0]!.message).not.toBe('from the future');
    expect(Date.parse(newest.body.data[0]!.time)).toBeLessThan(Date.parse('2100-01-01T00:00:00Z'));
  });
});

describe('authentication matrix', () => {
  type Who = keyof typeof K | 'none';
  const who: Who[] = ['none', 'all', 'admin', 'reader', 'tailer', 'ingester', 'acme'];
  const tokenOf = (w: Who) => (w === 'none' ? undefined : K[w].token);
  /** Each endpoint, and what each caller gets (the adapter changes are made to fail after authorization). */
  const endpoints: Array<{
    method: string;
    path: string;
    body?: unknown;
    ok: number;
    allowed: Who[];
    tenantKeys: boolean;
  }> = [
    { method: 'GET', path: '/health/live', ok: 200, allowed: who, tenantKeys: true },
    { method: 'GET', path: '/health/ready', ok: 200, allowed: who, tenantKeys: true },
    { method: 'GET', path: '/metrics', ok: 200, allowed: who, tenantKeys: true },
    { method: 'GET', path: '/docs/json', ok: 200, allowed: who, tenantKeys: true },
    { method: 'GET', path: '/api/v1/stats', ok: 200, allowed: ['all', 'reader'], tenantKeys: false },
    { method: 'GET', path: '/api/v1/adapters', ok: 200, allowed: ['all', 'reader'], tenantKeys: false },
    {
      method: 'GET',
      path: '/api/v1/adapters/syslog_udp',
      ok: 200,
      allowed: ['all', 'reader'],
      tenantKeys: false,
    },
    {
      method: 'GET',
      path: '/api/v1/adapters/syslog_udp/schema',
      ok: 200,
      allowed: ['all', 'reader'],
      tenantKeys: false,
    },
    {
      method: 'POST',
      path: '/api/v1/adapters/nope/start',
      ok: 404,
      allowed: ['all', 'admin'],
      tenantKeys: false,
    },
    {
      method: 'POST',
      path: '/api/v1/adapters/nope/stop',
      ok: 404,
      allowed: ['all', 'admin'],
      tenantKeys: false,
    },
    {
      method: 'PUT',
      path: '/api/v1/adapters/syslog_udp/config',
      body: { port: -1 },
      ok: 400,
      allowed: ['all', 'admin'],
      tenantKeys: false,
    },
    {
      method: 'GET',
      path: '/api/v1/events?limit=1',
      ok: 200,
      allowed: ['all', 'reader', 'acme'],
      tenantKeys: true,
    },
    {
      method: 'GET',
      path: '/api/v1/events/histogram',
      ok: 200,
      allowed: ['all', 'reader', 'acme'],
      tenantKeys: true,
    },
    {
      method: 'POST',
      path: '/api/v1/test-intake',
      body: {},
      ok: 200,
      allowed: ['all', 'ingester'],
      tenantKeys: true,
    },
  ];

  it.each(endpoints)('$method $path', async (ep) => {
    for (const w of who) {
      const r = await call(base, ep.path, { method: ep.method, token: tokenOf(w), body: ep.body });
      const want = ep.allowed.includes(w) ? ep.ok : w === 'none' ? 401 : 403;
      expect(r.status, `${w} → ${ep.method} ${ep.path}: ${JSON.stringify(r.body)}`).toBe(want);
    }
  });

  it('WS /api/v1/tail', async () => {
    for (const w of who) {
      if (['all', 'tailer', 'acme'].includes(w)) {
        const c = new TailClient(`${wsBase}/api/v1/tail`, tokenOf(w));
        await c.opened;
        await c.close();
      } else {
        expect((await upgradeRefusal(`${wsBase}/api/v1/tail`, tokenOf(w))).status).toBe(
          w === 'none' ? 401 : 403,
        );
      }
    }
  });
});
