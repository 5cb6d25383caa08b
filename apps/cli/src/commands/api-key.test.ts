import { createHash } from 'node:crypto';
import { apiKeySchema } from '@siem/api';
import { checkAgainst } from '@siem/config';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { capture } from '../test-support.js';
import { apiKeyCommand } from './api-key.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('siem api-key', () => {
  it('prints a token once and a configuration entry holding only its SHA-256', async () => {
    const io = capture();
    expect(await apiKeyCommand.run(['--id', 'grafana', '--scopes', 'read,tail', '--tenant', 'acme'])).toBe(0);
    const text = io.out();
    const token = /^# {3}(siem_\S+)$/m.exec(text)?.[1];
    expect(token).toBeDefined();
    const entries = parse(text) as unknown[];
    expect(entries).toHaveLength(1);
    const entry = entries[0] as Record<string, unknown>;
    expect(entry).toEqual({
      id: 'grafana',
      hash: `sha256:${createHash('sha256').update(token!).digest('hex')}`,
      scopes: ['read', 'tail'],
      tenant: 'acme',
    });
    expect(checkAgainst(apiKeySchema, entry)).toEqual([]);
    expect(text.split(token!).length).toBe(2); // the token appears once
  });

  it('prints JSON with --json, tenant null when unbound', async () => {
    const io = capture();
    expect(await apiKeyCommand.run(['--id', 'ops', '--scopes', 'admin', '--json'])).toBe(0);
    const { token, entry } = JSON.parse(io.out()) as { token: string; entry: Record<string, unknown> };
    expect(token).toMatch(/^siem_/);
    expect(entry).toMatchObject({ id: 'ops', scopes: ['admin'], tenant: null });
  });

  it('refuses a missing id, unknown scopes and unknown options, saying why', async () => {
    const io = capture();
    expect(await apiKeyCommand.run(['--scopes', 'read,root'])).toBe(2);
    expect(io.err()).toMatch(/--id is required/);
    expect(io.err()).toMatch(/unknown scope root/);
    expect(await apiKeyCommand.run(['--id', 'x', '--scopes', 'read', '--colour'])).toBe(2);
    expect(io.out()).toBe('');
  });
});
