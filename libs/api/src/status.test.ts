import { silentLogger } from '@siem/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from './server.js';
import type { StatusSource } from './status.js';
import { apiOptions, call, testKey } from './testing/helpers.js';

/*
 * GET /api/v1/status over real HTTP on 127.0.0.1: who may read it, what it says, and how a slow or
 * failing tier status is answered without holding the request.
 */

const keys = {
  admin: testKey('admin', ['admin', 'read']),
  reader: testKey('reader', ['read']),
  tenantAdmin: testKey('acme-admin', ['admin', 'read'], 'acme'),
};

const processInfo = {
  version: '9.9.9',
  role: 'all',
  hostname: 'h',
  pid: 1,
  node: 'v20',
  started_at: '2026-12-04T00:00:00.000Z',
};

let server: ApiServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(status: StatusSource | null): Promise<string> {
  server = await createApiServer({
    options: apiOptions({ port: 0, keys: Object.values(keys).map((k) => k.entry) }),
    logger: silentLogger,
    readiness: [],
    status,
  });
  return server.listen();
}

describe('GET /api/v1/status', () => {
  it('answers an admin key with version, role, masked configuration and the tiers', async () => {
    let reads = 0;
    const base = await start({
      process: processInfo,
      config: { storage: { database_url: 'postgres://u:***@db/siem' } },
      tiers: async () => {
        reads++;
        return { engine: 'timescaledb', tiers: [{ tier: 'hot', chunks: 2 }] };
      },
    });
    const r = await call(base, '/api/v1/status', { token: keys.admin.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ...processInfo,
      config: { storage: { database_url: 'postgres://u:***@db/siem' } },
      tiers: { state: 'ok', status: { engine: 'timescaledb', tiers: [{ tier: 'hot', chunks: 2 }] } },
    });
    expect(typeof r.body.uptime_seconds).toBe('number');
    // read once for many callers within the cache time
    for (let i = 0; i < 5; i++) await call(base, '/api/v1/status', { token: keys.admin.token });
    expect(reads).toBe(1);
  });

  it('refuses a read key and a tenant-bound admin key: the configuration is the whole deployment’s', async () => {
    const base = await start({ process: processInfo, config: {}, tiers: null });
    expect((await call(base, '/api/v1/status', { token: keys.reader.token })).status).toBe(403);
    expect((await call(base, '/api/v1/status', { token: keys.tenantAdmin.token })).status).toBe(403);
    expect((await call(base, '/api/v1/status')).status).toBe(401);
  });

  it('says the role stores nothing, reports a failing tier read, and does not wait past the timeout', async () => {
    let base = await start({ process: { ...processInfo, role: 'gateway' }, config: {}, tiers: null });
    expect((await call(base, '/api/v1/status', { token: keys.admin.token })).body.tiers).toEqual({
      state: 'none',
      detail: 'this role stores no events',
    });
    await server?.close();

    base = await start({
      process: processInfo,
      config: {},
      tiers: () => Promise.reject(new Error('schema siem is not migrated')),
      tiersCacheMs: 0,
    });
    expect((await call(base, '/api/v1/status', { token: keys.admin.token })).body.tiers).toMatchObject({
      state: 'error',
      detail: 'schema siem is not migrated',
    });
    await server?.close();

    let hung = 0;
    base = await start({
      process: processInfo,
      config: {},
      tiers: () => {
        hung++;
        return new Promise(() => {});
      },
      tiersTimeoutMs: 200,
      tiersCacheMs: 0,
    });
    const t = performance.now();
    const slow = await call(base, '/api/v1/status', { token: keys.admin.token });
    expect(slow.status).toBe(200);
    expect(slow.body.tiers).toMatchObject({
      state: 'timeout',
      detail: expect.stringMatching(/^no answer within 0.2 s/),
    });
    expect(performance.now() - t).toBeLessThan(5_000);
    // a read that never ends is not joined by another: one query at a time, whatever the callers
    await Promise.all([1, 2, 3].map(() => call(base, '/api/v1/status', { token: keys.admin.token })));
    expect(hung).toBe(1);
  });

  it('answers 503 where nothing is wired', async () => {
    const base = await start(null);
    const r = await call(base, '/api/v1/status', { token: keys.admin.token });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('SIEM_ERR_UNAVAILABLE');
  });
});
