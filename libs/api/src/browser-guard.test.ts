import { request as httpRequest } from 'node:http';
import { silentLogger } from '@siem/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ApiServer, createApiServer } from './server.js';
import { apiOptions, call, testKey, upgradeRefusal } from './testing/helpers.js';

/** A GET with a Host header of our choosing (fetch does not let a caller set Host, as a browser would not). */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function tailOpens(url: string, origin: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin });
    ws.once('message', () => {
      ws.close();
      resolve(true);
    });
    ws.once('unexpected-response', () => resolve(false));
    ws.on('error', () => resolve(false));
  });
}

/*
 * Keyless loopback mode against what a web page in the operator's browser can send: a real server on
 * 127.0.0.1, real HTTP and WebSocket clients presenting the headers a browser would.
 */
describe('keyless mode refuses what a web page sends', () => {
  let server: ApiServer;
  let base: string;
  beforeAll(async () => {
    server = await createApiServer({
      options: apiOptions({ port: 0, allowed_origins: ['https://console.example.org'] }),
      logger: silentLogger,
      readiness: [],
    });
    base = await server.listen();
  });
  afterAll(() => server.close());

  it('answers loopback Host names and refuses a DNS-rebound one', async () => {
    const port = new URL(base).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`]) {
      expect((await getWithHost(base, '/api/v1/adapters', host)).status, host).toBe(200);
    }
    const rebound = await getWithHost(base, '/api/v1/adapters', `rebind.evil.example:${port}`);
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({
      code: 'SIEM_ERR_FORBIDDEN',
      message: expect.stringContaining('loopback host names only'),
    });
    // The probes stay open whatever the Host (kubelet and load balancers name the pod's address).
    expect((await getWithHost(base, '/health/live', 'rebind.evil.example')).status).toBe(200);
  });

  it('refuses a cross-site Origin on reads and writes, accepts loopback and configured origins', async () => {
    const evil = await call(base, '/api/v1/adapters', { headers: { origin: 'http://evil.example' } });
    expect(evil.status).toBe(403);
    expect(evil.body.message).toMatch(/cross-site request from origin http:\/\/evil\.example/);
    expect((await call(base, '/api/v1/adapters', { headers: { origin: 'null' } })).status).toBe(403);
    const port = new URL(base).port;
    for (const origin of [
      `http://127.0.0.1:${port}`,
      'http://localhost:3000',
      'https://console.example.org',
    ]) {
      expect((await call(base, '/api/v1/adapters', { headers: { origin } })).status, origin).toBe(200);
    }
  });

  it('needs X-SIEM-Client or a JSON body on state-changing requests', async () => {
    const stop = (headers: Record<string, string>) =>
      call(base, '/api/v1/adapters/nope/stop', { method: 'POST', headers });
    const plain = await stop({});
    expect(plain.status).toBe(403);
    expect(plain.body.message).toMatch(/x-siem-client/);
    expect((await stop({ 'content-type': 'text/plain' })).status).toBe(403);
    expect((await stop({ 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(403);
    // Past the guard: the adapter is unknown (this server runs none).
    expect((await stop({ 'x-siem-client': '1' })).status).toBe(404);
    const json = await call(base, '/api/v1/adapters/nope/config', { method: 'PUT', body: { port: 1 } });
    expect(json.status).toBe(404);
  });

  it('refuses a cross-site WebSocket upgrade of the tail and opens a loopback one', async () => {
    const ws = base.replace(/^http/, 'ws');
    const refused = await upgradeRefusal(`${ws}/api/v1/tail`, undefined, 'http://evil.example');
    expect(refused.status).toBe(403);
    expect(await tailOpens(`${ws}/api/v1/tail`, base)).toBe(true);
  });
});

describe('with API keys the page checks do not apply', () => {
  it('takes any Host and Origin with a valid key (a page cannot present a key it does not have)', async () => {
    const key = testKey('admin', ['admin', 'read']);
    const server = await createApiServer({
      options: apiOptions({ port: 0, keys: [key.entry] }),
      logger: silentLogger,
      readiness: [],
    });
    try {
      const base = await server.listen();
      const res = await call(base, '/api/v1/adapters', {
        token: key.token,
        headers: { origin: 'https://siem.corp.example' },
      });
      expect(res.status).toBe(200);
      expect(
        (await call(base, '/api/v1/adapters', { headers: { origin: 'http://evil.example' } })).status,
      ).toBe(401);
    } finally {
      await server.close();
    }
  });
});
