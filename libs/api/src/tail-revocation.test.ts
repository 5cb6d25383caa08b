import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@siem/observability';
import { afterAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer } from './server.js';
import { TAIL_REVOKED_CLOSE_CODE } from './tail.js';
import { apiOptions, call, event, TailClient, type TestKey, testKey, waitFor } from './testing/helpers.js';

/*
 * The live tail when the API keys change: a real server reading a real keys file (re-read every
 * second), real WebSocket clients. A key taken out of the file, or stripped of the tail scope, must
 * not keep streaming on a socket it opened before.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function keysFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'siem-api-keys-'));
  dirs.push(dir);
  const file = join(dir, 'keys.json');
  writeFileSync(file, content);
  return file;
}

async function tailServer(file: string): Promise<{ server: ApiServer; ws: string; http: string }> {
  const server = await createApiServer({
    options: apiOptions({ port: 0, keys_file: file, keys_reload_seconds: 1 }),
    logger: silentLogger,
    readiness: [],
  });
  const http = await server.listen();
  return { server, http, ws: http.replace(/^http/, 'ws') };
}

function closeOf(c: TailClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    c.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
}

describe('live tail when the keys file changes', () => {
  async function revoked(http: string) {
    const text = (await call<string>(http, '/metrics')).body;
    const of = (reason: string) =>
      Number(new RegExp(`siem_api_tail_revoked_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    return { key_removed: of('key_removed'), scope_removed: of('scope_removed') };
  }

  it('closes the sockets of keys removed or stripped of the tail scope, and only those', async () => {
    const K: Record<'gone' | 'demoted' | 'kept' | 'acme', TestKey> = {
      gone: testKey('gone', ['tail']),
      demoted: testKey('demoted', ['tail', 'read']),
      kept: testKey('kept', ['tail']),
      acme: testKey('acme-tail', ['tail'], 'acme'),
    };
    const file = keysFile(JSON.stringify(Object.values(K).map((k) => k.entry)));
    const { server, ws, http } = await tailServer(file);
    const clients: TailClient[] = [];
    try {
      const open = async (k: TestKey) => {
        const c = new TailClient(`${ws}/api/v1/tail`, k.token);
        clients.push(c);
        await c.opened;
        return c;
      };
      const [gone, demoted, kept, acme] = await Promise.all([
        open(K.gone),
        open(K.demoted),
        open(K.kept),
        open(K.acme),
      ]);
      const before = await revoked(http);
      const goneClosed = closeOf(gone);
      const demotedClosed = closeOf(demoted);

      // as a Kubernetes secret update does: a new file put in place
      writeFileSync(
        `${file}.new`,
        JSON.stringify([K.kept.entry, K.acme.entry, { ...K.demoted.entry, scopes: ['read'] }]),
      );
      renameSync(`${file}.new`, file);
      expect(await goneClosed).toEqual({
        code: TAIL_REVOKED_CLOSE_CODE,
        reason: 'revoked: the API key was removed or replaced',
      });
      expect(await demotedClosed).toEqual({
        code: TAIL_REVOKED_CLOSE_CODE,
        reason: 'revoked: the API key lost the tail scope',
      });
      expect(server.tail.size).toBe(2);
      const after = await revoked(http);
      expect(after.key_removed - before.key_removed).toBe(1);
      expect(after.scope_removed - before.scope_removed).toBe(1);
      // the removed key is refused on new requests too; the demoted one keeps what it still holds
      expect((await call(http, '/api/v1/adapters', { token: K.gone.token })).status).toBe(401);

      // the others keep streaming
      server.publishStored([event(1, { tenantId: 'acme' }), event(2, { tenantId: 'globex' })]);
      await waitFor(
        () => kept.events().length === 2 && acme.events().length === 1,
        'events on the kept tails',
      );
      expect(acme.events()[0]!.tenantId).toBe('acme');
      expect(gone.events()).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    }
  });

  it('closes keyless loopback tails once keys are configured', async () => {
    const file = keysFile('[]');
    const { server, ws } = await tailServer(file);
    const client = new TailClient(`${ws}/api/v1/tail`);
    try {
      await client.opened;
      const closed = closeOf(client);
      writeFileSync(file, JSON.stringify([testKey('new', ['tail']).entry]));
      expect(await closed).toEqual({
        code: TAIL_REVOKED_CLOSE_CODE,
        reason: 'revoked: API keys are configured now: connect with a key',
      });
    } finally {
      await client.close();
      await server.close();
    }
  });
});
