import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@siem/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { WS_TOKEN_PROTOCOL_PREFIX } from './auth.js';
import { CONSOLE_CSP } from './console.js';
import { type ApiServer, createApiServer } from './server.js';
import { apiOptions, call, testKey } from './testing/helpers.js';

/*
 * The console's routes on a real API server over HTTP: its static files (content types, caching, CSP,
 * nothing outside its folder), a missing build answered with a clear 503, /api/v1/whoami, and the key
 * a browser's WebSocket carries in its subprotocol.
 */

const dir = mkdtempSync(join(tmpdir(), 'siem-console-files-'));
const www = join(dir, 'www');
const keys = { reader: testKey('reader', ['read']), tailer: testKey('tailer', ['tail', 'read']) };

async function serve(
  consoleDir: string | null,
  withKeys: boolean,
): Promise<{ server: ApiServer; base: string }> {
  const server = await createApiServer({
    options: apiOptions({ port: 0, keys: withKeys ? Object.values(keys).map((k) => k.entry) : [] }),
    logger: silentLogger,
    readiness: [],
    consoleDir,
  });
  return { server, base: await server.listen() };
}

/** Opens a tail offering `protocols`; resolves with the protocol the server chose, or the refusal. */
function openTail(base: string, protocols: string[]): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/tail`, protocols);
    ws.once('open', () => {
      resolve(`open ${ws.protocol}`);
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
    ws.once('error', (e) => resolve(`error ${e.message}`));
  });
}

describe('console routes', () => {
  let built: { server: ApiServer; base: string };
  let missing: { server: ApiServer; base: string };

  beforeAll(async () => {
    mkdirSync(www, { recursive: true });
    writeFileSync(
      join(www, 'index.html'),
      '<!doctype html><script type="module" src="./main-ABCD1234.js"></script>',
    );
    writeFileSync(join(www, 'main-ABCD1234.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside');
    built = await serve(www, true);
    missing = await serve(join(dir, 'not-built'), false);
  });
  afterAll(async () => {
    await built.server.close();
    await missing.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its hashed files without a key, with types, caching and the CSP', async () => {
    const page = await fetch(`${built.base}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const js = await fetch(`${built.base}/console/main-ABCD1234.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log(1)');
    const root = await fetch(`${built.base}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/console/']);
  });

  it('serves nothing outside its folder', async () => {
    for (const path of [
      '/console/..%2fsecret.txt',
      '/console/..%2f..%2f..%2fetc%2fpasswd',
      '/console/nope.js',
    ]) {
      const res = await call(built.base, path);
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain('outside');
    }
  });

  it('answers 503 saying how to build it when the bundle is missing; the API keeps working', async () => {
    const res = await call<{ code: string; message: string }>(missing.base, '/console/');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('SIEM_ERR_UNAVAILABLE');
    expect(res.body.message).toContain('npm run build');
    expect((await call(missing.base, '/health/live')).status).toBe(200);
  });

  it('says who the caller is: the key with its scopes, or the keyless loopback principal', async () => {
    const me = await call(built.base, '/api/v1/whoami', { token: keys.reader.token });
    expect(me.body).toEqual({ id: 'reader', scopes: ['read'], tenant: null, keyless: false });
    expect((await call(built.base, '/api/v1/whoami')).status).toBe(401);
    const loopback = await call(missing.base, '/api/v1/whoami');
    expect(loopback.body).toMatchObject({ id: 'loopback', keyless: true });
    expect((loopback.body as { scopes: string[] }).scopes).toContain('admin');
  });

  it("takes a browser WebSocket's key from its subprotocol, never echoing the token", async () => {
    const ok = await openTail(built.base, ['siem.tail', `${WS_TOKEN_PROTOCOL_PREFIX}${keys.tailer.token}`]);
    expect(ok).toBe('open siem.tail');
    expect(await openTail(built.base, ['siem.tail', `${WS_TOKEN_PROTOCOL_PREFIX}${keys.reader.token}`])).toBe(
      'refused 403',
    );
    expect(await openTail(built.base, ['siem.tail', `${WS_TOKEN_PROTOCOL_PREFIX}siem_wrong`])).toBe(
      'refused 401',
    );
    expect(await openTail(built.base, ['siem.tail'])).toBe('refused 401');
  });
});
