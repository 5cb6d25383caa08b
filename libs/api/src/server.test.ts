import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { isSiemError } from '@siem/core';
import { silentLogger } from '@siem/observability';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from './server.js';
import {
  apiOptions,
  call,
  event,
  httpsGet,
  TailClient,
  testKey,
  upgradeRefusal,
  waitFor,
} from './testing/helpers.js';

/*
 * The API server without a database (as in the gateway role): authentication, validation, the live
 * tail, rate limiting, body limits, TLS, OpenAPI. In-process over real HTTP on 127.0.0.1 — no external
 * service. The routes that read the database are tested in api.integration.test.ts.
 */

const keys = {
  reader: testKey('reader', ['read']),
  tailer: testKey('tailer', ['tail']),
  acmeTail: testKey('acme-tail', ['tail'], 'acme'),
  admin: testKey('admin', ['admin', 'read']),
};

describe('API server (no database)', () => {
  let server: ApiServer;
  let base: string;
  let wsBase: string;

  beforeAll(async () => {
    server = await createApiServer({
      options: apiOptions({
        port: 0,
        keys: Object.values(keys).map((k) => k.entry),
        tail: { queue_events: 100, batch_events: 50, max_buffered_bytes: 65_536 },
        body_limit_bytes: 4096,
        rate_limit: { max: 1000 },
      }),
      logger: silentLogger,
      readiness: [{ name: 'kafka', check: async () => ({ ok: false, detail: 'no brokers' }) }],
    });
    const address = await server.listen();
    base = address;
    wsBase = address.replace(/^http/, 'ws');
  });
  afterAll(() => server.close());

  it('answers the probes without a key and reports each dependency', async () => {
    expect((await call(base, '/health/live')).status).toBe(200);
    const ready = await call(base, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'not ready',
      checks: { kafka: { ok: false, detail: 'no brokers', latency_ms: expect.any(Number) } },
    });
    const metrics = await call(base, '/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toContain('process_cpu_user_seconds_total');
    expect(String(metrics.body)).toContain('siem_api_requests_total');
  });

  it('requires a valid key everywhere else', async () => {
    const none = await call(base, '/api/v1/stats');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toMatchObject({ code: 'SIEM_ERR_AUTH' });
    const bad = await call(base, '/api/v1/stats', { token: `${keys.reader.token}x` });
    expect(bad.status).toBe(401);
    expect(bad.body.message).toMatch(/not a valid API key/);
    expect((await call(base, '/api/v1/stats', { token: keys.tailer.token })).status).toBe(403);
    expect((await call(base, '/api/v1/stats', { token: keys.reader.token })).status).toBe(200);
    // unknown routes do not reveal themselves to strangers
    expect((await call(base, '/api/v1/nothing')).status).toBe(401);
    expect((await call(base, '/api/v1/nothing', { token: keys.admin.token })).status).toBe(404);
  });

  it('names every bad parameter, before and after schema validation', async () => {
    const shape = await call(base, '/api/v1/events?limit=5000&hots=web-1&outcome=maybe', {
      token: keys.reader.token,
    });
    expect(shape.status).toBe(400);
    expect(shape.body.code).toBe('SIEM_ERR_REQUEST_INVALID');
    expect((shape.body.details as Array<{ parameter: string }>).map((d) => d.parameter).sort()).toEqual([
      'hots',
      'limit',
      'outcome',
    ]);
    const meaning = await call(base, '/api/v1/events?from=yesterday&src_ip=10.0.0.0/40&min_severity=loud', {
      token: keys.reader.token,
    });
    expect(meaning.status).toBe(400);
    expect(meaning.body.message).toMatch(/from .*min_severity .*src_ip/);
    const hist = await call(base, '/api/v1/events/histogram?interval=1mo', { token: keys.reader.token });
    expect(hist.status).toBe(400);
    expect(hist.body.message).toMatch(/interval/);
  });

  it('says clearly that this role stores no events', async () => {
    const r = await call(base, '/api/v1/events?host=web-1', { token: keys.reader.token });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'SIEM_ERR_UNAVAILABLE' });
    expect(r.body.message).toMatch(/stores no events/);
    expect((await call(base, '/api/v1/events/histogram', { token: keys.reader.token })).status).toBe(503);
  });

  it('lists no adapters where the role has none', async () => {
    expect((await call(base, '/api/v1/adapters', { token: keys.reader.token })).body).toEqual({ data: [] });
    const one = await call(base, '/api/v1/adapters/syslog_udp', { token: keys.reader.token });
    expect(one.status).toBe(404);
    expect(one.body.code).toBe('SIEM_ERR_ADAPTER_UNKNOWN');
  });

  it('refuses a body over the limit, and reads no body before authenticating', async () => {
    const big = { x: 'y'.repeat(10_000) };
    const anon = await call(base, '/api/v1/adapters/syslog_udp/config', { method: 'PUT', body: big });
    expect(anon.status).toBe(401);
    const admin = await call(base, '/api/v1/adapters/syslog_udp/config', {
      method: 'PUT',
      body: big,
      token: keys.admin.token,
    });
    expect(admin.status).toBe(413);
    const malformed = await call(base, '/api/v1/adapters/syslog_udp/config', {
      method: 'PUT',
      rawBody: '{"port":',
      token: keys.admin.token,
    });
    expect(malformed.status).toBe(400);
  });

  it('serves the OpenAPI document, tail included', async () => {
    const doc = await call<{ openapi: string; paths: Record<string, unknown> }>(base, '/docs/json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/events',
        '/api/v1/events/histogram',
        '/api/v1/tail',
        '/api/v1/stats',
        '/api/v1/adapters',
        '/api/v1/adapters/{name}/config',
        '/health/ready',
        '/metrics',
      ]),
    );
  });

  it('tails stored events with the filters, only those stored after connecting', async () => {
    server.publishStored([event(0, { hostName: 'web-1' })]); // before anyone listens
    const all = new TailClient(`${wsBase}/api/v1/tail?host=web-1&host=web-3`, keys.tailer.token);
    const acme = new TailClient(`${wsBase}/api/v1/tail`, keys.acmeTail.token);
    await Promise.all([all.opened, acme.opened]);
    expect(all.messages[0]).toMatchObject({ type: 'hello', queue_events: 100, tenants: null });
    expect(acme.messages[0]).toMatchObject({ type: 'hello', tenants: ['acme'] });
    server.publishStored([
      event(1, { hostName: 'web-1' }),
      event(2, { hostName: 'web-2' }),
      event(3, { hostName: 'web-3', tenantId: 'globex' }),
    ]);
    await waitFor(() => all.events().length === 2 && acme.events().length === 2, 'tail events');
    expect(all.events().map((e) => e.attrs.seq)).toEqual([1, 3]);
    expect(acme.events().map((e) => e.attrs.seq)).toEqual([1, 2]);
    expect(all.events()[0]).toEqual(event(1, { hostName: 'web-1' }));
    await Promise.all([all.close(), acme.close()]);
    await waitFor(() => server.tail.size === 0, 'tail clients gone');
  });

  it('refuses a tail upgrade without the scope, for another tenant, or with bad filters', async () => {
    expect((await upgradeRefusal(`${wsBase}/api/v1/tail`)).status).toBe(401);
    expect((await upgradeRefusal(`${wsBase}/api/v1/tail`, keys.reader.token)).status).toBe(403);
    const other = await upgradeRefusal(`${wsBase}/api/v1/tail?tenant=globex`, keys.acmeTail.token);
    expect(other.status).toBe(403);
    expect(other.body).toMatch(/cannot read tenant globex/);
    const bad = await upgradeRefusal(`${wsBase}/api/v1/tail?src_ip=nope&colour=red`, keys.tailer.token);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/colour/);
    const plain = await call(base, '/api/v1/tail', { token: keys.tailer.token });
    expect(plain.status).toBe(400);
  });

  it('never lets a slow tail client hold more than its queue, and tells it what it missed', async () => {
    const slow = new TailClient(`${wsBase}/api/v1/tail`, keys.tailer.token);
    await slow.opened;
    // The client stops reading: the kernel buffers fill, then the server's writes stall.
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const filler = 'x'.repeat(400);
    let published = 0;
    let worst = { queued: 0, bufferedBytes: 0 };
    for (let batch = 0; batch < 200; batch++) {
      const rows = Array.from({ length: 1000 }, (_, k) => event(published + k, { message: filler }));
      server.publishStored(rows);
      published += rows.length;
      const s = server.tail.stats()[0]!;
      worst = {
        queued: Math.max(worst.queued, s.queued),
        bufferedBytes: Math.max(worst.bufferedBytes, s.bufferedBytes),
      };
      await new Promise((r) => setImmediate(r));
    }
    const stats = server.tail.stats()[0]!;
    // bounded: the queue (100 events) and the socket's unwritten bytes (64 KiB + one message of 50 events)
    expect(worst.queued).toBeLessThanOrEqual(100);
    expect(worst.bufferedBytes).toBeLessThan(65_536 + 50 * 1024);
    expect(stats.dropped).toBeGreaterThan(150_000);

    socket.resume();
    await waitFor(
      () => slow.events().length + slow.dropped() === published,
      'the slow client to drain',
      20_000,
    );
    // every gap is reported where it happened: sequence numbers jump by exactly the dropped count
    let expected = 0;
    for (const m of slow.messages) {
      if (m.type === 'events') {
        for (const e of m.events) {
          expect(e.attrs.seq).toBe(expected);
          expected++;
        }
      } else if (m.type === 'dropped') {
        expected += m.count;
      }
    }
    expect(expected).toBe(published);
    const last = slow.messages.filter((m) => m.type === 'dropped').at(-1);
    expect(last).toMatchObject({ total: slow.dropped() });
    await slow.close();
  });
});

describe('rate limiting', () => {
  it('limits each key on its own and never the probes', async () => {
    const a = testKey('a', ['read']);
    const b = testKey('b', ['read']);
    const server = await createApiServer({
      options: apiOptions({ port: 0, keys: [a.entry, b.entry], rate_limit: { max: 3, window_seconds: 60 } }),
      logger: silentLogger,
      readiness: [],
    });
    try {
      const base = await server.listen();
      for (let i = 0; i < 3; i++)
        expect((await call(base, '/api/v1/stats', { token: a.token })).status).toBe(200);
      const limited = await call(base, '/api/v1/stats', { token: a.token });
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('SIEM_ERR_RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await call(base, '/api/v1/stats', { token: b.token })).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await call(base, '/health/live')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('keyless mode', () => {
  it('refuses to listen on a non-loopback address without keys', async () => {
    const err = await createApiServer({
      options: apiOptions({ host: '0.0.0.0', port: 0 }),
      logger: silentLogger,
      readiness: [],
    }).catch((e: unknown) => e);
    expect(isSiemError(err, 'SIEM_ERR_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/no API key is configured.*siem api-key/s);
  });

  it('answers loopback clients with every scope, says so at start-up, and refuses anyone else', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const server = await createApiServer({
      options: apiOptions({ port: 0 }),
      logger: pino({ level: 'info' }, sink),
      readiness: [],
    });
    try {
      const base = await server.listen();
      expect(lines.join('')).toMatch(/no API keys configured: the API answers loopback clients only/);
      expect((await call(base, '/api/v1/stats')).status).toBe(200);
      const start = (headers: Record<string, string>) =>
        call(base, '/api/v1/adapters/x/start', { method: 'POST', headers });
      expect((await start({ 'x-siem-client': 'test' })).status).toBe(404);
      expect((await start({})).status).toBe(403); // cross-site request guard (browser-guard.test.ts)
      // A non-loopback peer cannot reach a loopback-bound socket over real HTTP; fastify's inject can
      // present one, which is the only way to exercise this refusal.
      const remote = await server.app.inject({
        method: 'GET',
        url: '/api/v1/stats',
        remoteAddress: '10.0.0.5',
      });
      expect(remote.statusCode).toBe(403);
      expect(remote.json().message).toMatch(/loopback clients only/);
    } finally {
      await server.close();
    }
  });
});

describe('TLS', () => {
  it('serves HTTPS with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-api-tls-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'ignore' },
      );
      const server = await createApiServer({
        options: apiOptions({ port: 0, tls: { cert_file: cert, key_file: key } }),
        logger: silentLogger,
        readiness: [],
      });
      try {
        const base = await server.listen();
        expect(base).toMatch(/^https:/);
        const r = await httpsGet(`${base}/health/live`, readFileSync(cert));
        expect(r).toEqual({ status: 200, body: '{"status":"ok"}' });
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses half a TLS configuration', async () => {
    const err = await createApiServer({
      options: apiOptions({ port: 0, tls: { cert_file: '/nonexistent.pem' } }),
      logger: silentLogger,
      readiness: [],
    }).catch((e: unknown) => e);
    expect(isSiemError(err, 'SIEM_ERR_CONFIG_INVALID')).toBe(true);
  });
});
