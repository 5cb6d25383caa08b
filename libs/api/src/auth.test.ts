import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@siem/observability';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  ApiKeyStore,
  generateApiKey,
  hashApiKey,
  isLoopback,
  LOOPBACK_PRINCIPAL,
  readableTenants,
  readKeysFile,
} from './auth.js';
import type { ApiKeyEntry } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'siem-api-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function key(
  id: string,
  token: string,
  scopes: ApiKeyEntry['scopes'],
  tenant: string | null = null,
): ApiKeyEntry {
  return { id, hash: hashApiKey(token), scopes, tenant };
}

describe('API key tokens', () => {
  it('are 256-bit random, prefixed, and stored as their SHA-256', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).toMatch(/^siem_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashApiKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('ApiKeyStore', () => {
  it('finds the key of a token and nothing for any other token', () => {
    const t1 = generateApiKey();
    const t2 = generateApiKey();
    const store = new ApiKeyStore({
      keys: [key('ops', t1, ['admin', 'read']), key('acme', t2, ['read'], 'acme')],
      file: null,
      reloadSeconds: 0,
      logger: silentLogger,
    });
    expect(store.size).toBe(2);
    expect(store.authenticate(t1)).toMatchObject({ id: 'ops', tenant: null });
    expect([...(store.authenticate(t2)?.scopes ?? [])]).toEqual(['read']);
    expect(store.authenticate(t2)?.tenant).toBe('acme');
    expect(store.authenticate(`${t1}x`)).toBeNull();
    expect(store.authenticate('')).toBeNull();
    // the hash itself is not a credential
    expect(store.authenticate(hashApiKey(t1))).toBeNull();
  });

  it('refuses two keys with one id', () => {
    expect(
      () =>
        new ApiKeyStore({
          keys: [key('a', 'x', ['read']), key('a', 'y', ['read'])],
          file: null,
          reloadSeconds: 0,
          logger: silentLogger,
        }),
    ).toThrow(/configured twice/);
  });

  it('reads a keys file (a list or {keys}) and follows its changes, keeping the old keys when it breaks', () => {
    vi.useFakeTimers();
    try {
      const file = join(dir, 'keys.yaml');
      const t1 = generateApiKey();
      const t2 = generateApiKey();
      writeFileSync(file, `- id: one\n  hash: ${hashApiKey(t1)}\n  scopes: [read]\n`);
      const store = new ApiKeyStore({ keys: [], file, reloadSeconds: 1, logger: silentLogger });
      expect(store.authenticate(t1)?.id).toBe('one');

      writeFileSync(file, JSON.stringify({ keys: [{ id: 'two', hash: hashApiKey(t2), scopes: ['tail'] }] }));
      vi.advanceTimersByTime(1_100);
      expect(store.authenticate(t1)).toBeNull();
      expect(store.authenticate(t2)?.id).toBe('two');

      writeFileSync(file, '- id: broken\n  hash: md5:abc\n  scopes: []\n');
      vi.advanceTimersByTime(1_100);
      expect(store.authenticate(t2)?.id).toBe('two');
      store.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('says which principals a reload revoked, and why, and tells its listeners', () => {
    vi.useFakeTimers();
    try {
      const file = join(dir, 'revocation.yaml');
      const t = Object.fromEntries(
        ['kept', 'gone', 'demoted', 'moved', 'replaced'].map((id) => [id, generateApiKey()]),
      );
      const entries = (over: Record<string, Partial<ApiKeyEntry> | null>) =>
        JSON.stringify(
          Object.keys(t)
            .filter((id) => over[id] !== null)
            .map((id) => ({ ...key(id, t[id]!, ['tail', 'read']), ...over[id] })),
        );
      writeFileSync(file, entries({}));
      const store = new ApiKeyStore({ keys: [], file, reloadSeconds: 1, logger: silentLogger });
      const before = Object.fromEntries(Object.keys(t).map((id) => [id, store.authenticate(t[id]!)!]));
      let reloads = 0;
      store.onReload(() => reloads++);
      for (const p of Object.values(before)) expect(store.revocation(p, 'tail')).toBeNull();
      expect(store.revocation(LOOPBACK_PRINCIPAL, 'tail')).toBe('keys_required');

      writeFileSync(
        file,
        entries({
          gone: null,
          demoted: { scopes: ['read'] },
          moved: { tenant: 'acme' },
          replaced: { hash: hashApiKey(generateApiKey()) },
        }),
      );
      vi.advanceTimersByTime(1_100);
      expect(reloads).toBe(1);
      expect(store.revocation(before.kept!, 'tail')).toBeNull();
      expect(store.revocation(before.gone!, 'tail')).toBe('key_removed');
      expect(store.revocation(before.demoted!, 'tail')).toBe('scope_removed');
      expect(store.revocation(before.demoted!, 'read')).toBeNull();
      expect(store.revocation(before.moved!, 'tail')).toBe('tenant_changed');
      expect(store.revocation(before.replaced!, 'tail')).toBe('key_removed');

      writeFileSync(file, '[]');
      vi.advanceTimersByTime(1_100);
      expect(store.size).toBe(0);
      expect(store.revocation(LOOPBACK_PRINCIPAL, 'tail')).toBeNull(); // keyless mode again
      store.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('says what is wrong in a keys file', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, '- id: x\n  hash: sha256:00\n  scopes: [root]\n  extra: 1\n');
    expect(() => readKeysFile(file)).toThrow(/\/0\/hash: must match/);
    expect(() => readKeysFile(file)).toThrow(/\/0\/scopes\/0/);
    expect(() => readKeysFile(file)).toThrow(/unknown key "extra"/);
    writeFileSync(file, 'keys: 3\n');
    expect(() => readKeysFile(file)).toThrow(/must hold a list/);
  });
});

describe('tenant binding', () => {
  const bound = { id: 'acme', scopes: new Set(['read'] as const), tenant: 'acme' };

  it("narrows a bound key to its tenant and refuses any other tenant's name", () => {
    expect(readableTenants(bound, null)).toEqual(['acme']);
    expect(readableTenants(bound, ['acme'])).toEqual(['acme']);
    expect(() => readableTenants(bound, ['acme', 'globex'])).toThrow(/cannot read tenant globex/);
  });

  it('lets an unbound key read the tenants it names, or all', () => {
    expect(readableTenants(LOOPBACK_PRINCIPAL, null)).toBeNull();
    expect(readableTenants(LOOPBACK_PRINCIPAL, ['a', 'a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('isLoopback', () => {
  it('knows the loopback addresses of both families', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.1.2.3')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('::ffff:10.0.0.1')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
