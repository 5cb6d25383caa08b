import { defineAdapter, Type } from '@siem/config';
import { isSiemError, type Source, type SourceContext, type SourceStatus } from '@siem/core';
import { silentLogger } from '@siem/observability';
import { describe, expect, it } from 'vitest';
import { AdapterRegistry } from './adapter-registry.js';

/**
 * A source double: the registry's own contract (start/stop/status), not an external service. `fail`
 * makes start throw, as a listener whose port is taken does.
 */
class FakeSource implements Source {
  readonly type = 'fake';
  state: SourceStatus['state'] = 'stopped';
  constructor(
    readonly name: string,
    readonly options: { port: number; fail: boolean; password?: string },
    readonly context: SourceContext,
  ) {}
  async start(): Promise<void> {
    if (this.options.fail) throw new Error(`port ${this.options.port} taken`);
    this.state = 'running';
  }
  async stop(): Promise<void> {
    this.state = 'stopped';
  }
  status(): SourceStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      listen: `tcp://x:${this.options.port}`,
      counters: {},
    };
  }
}

const created: FakeSource[] = [];
const fake = defineAdapter({
  type: 'fake',
  schema: Type.Object(
    {
      enabled: Type.Boolean({ default: false }),
      port: Type.Integer({ minimum: 1, default: 1 }),
      fail: Type.Boolean({ default: false }),
      tenant: Type.Optional(Type.String()),
      password: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  create: (id, options, context) => {
    const s = new FakeSource(id, options, context);
    created.push(s);
    return s;
  },
});

function registry() {
  const contexts: string[] = [];
  const r = new AdapterRegistry((id, options) => {
    contexts.push(`${id}:${String(options.tenant)}`);
    return {
      intake: {} as never,
      tenant: String(options.tenant ?? 'default'),
      keyBy: 'host',
      logger: silentLogger,
    };
  }, silentLogger);
  r.register('a', fake, { enabled: true, port: 11, fail: false, tenant: 't1' });
  r.register('b', fake, { enabled: true, port: 12, fail: false, tenant: 't2', password: 'hunter2' });
  r.register('c', fake, { enabled: false, port: 13, fail: false });
  return { r, contexts };
}

describe('AdapterRegistry', () => {
  it('keeps several instances of one type apart by id, each with its own options and tenant', async () => {
    const { r, contexts } = registry();
    await r.startEnabled();
    expect(r.names()).toEqual(['a', 'b', 'c']);
    expect(r.list().map((v) => [v.id, v.name, v.type, v.state, v.listen])).toEqual([
      ['a', 'a', 'fake', 'running', 'tcp://x:11'],
      ['b', 'b', 'fake', 'running', 'tcp://x:12'],
      ['c', 'c', 'fake', 'stopped', null],
    ]);
    expect(contexts).toEqual(['a:t1', 'b:t2']);
    expect(r.get('b').options.password).toBe('***');
    await r.stop('a');
    expect(r.get('a').state).toBe('stopped');
    expect(r.get('b').state).toBe('running');
    await r.stopAll();
  });

  it('refuses a second registration of an id and answers unknown ids with SIEM_ERR_ADAPTER_UNKNOWN', () => {
    const { r } = registry();
    expect(() => r.register('a', fake, {})).toThrow(/registered twice/);
    let err: unknown;
    try {
      r.get('nope');
    } catch (e) {
      err = e;
    }
    expect(isSiemError(err, 'SIEM_ERR_ADAPTER_UNKNOWN')).toBe(true);
  });

  it('validates a reconfiguration against the type schema and leaves the adapter as it was when invalid', async () => {
    const { r } = registry();
    await r.start('a');
    const before = created.at(-1);
    await expect(r.reconfigure('a', { port: 0, colour: 'red' })).rejects.toMatchObject({
      code: 'SIEM_ERR_CONFIG_INVALID',
    });
    await expect(r.reconfigure('a', { type: 'other', port: 20 })).rejects.toMatchObject({
      code: 'SIEM_ERR_CONFIG_INVALID',
    });
    // options read back (the password shown as ***) and sent again unchanged: refused, the secret kept
    const shown = r.get('a').options;
    const placeholder = await r.reconfigure('a', { ...shown, password: '***' }).catch((e: unknown) => e);
    expect(placeholder).toMatchObject({ code: 'SIEM_ERR_CONFIG_INVALID' });
    expect((placeholder as { details: { path: string }[] }).details.map((d) => d.path)).toEqual([
      '/password',
    ]);
    expect(r.get('a')).toMatchObject({ state: 'running', listen: 'tcp://x:11' });
    expect(created.at(-1)).toBe(before);
    // A type that repeats the adapter's own is accepted (options copied from the id form of the file).
    const v = await r.reconfigure('a', { type: 'fake', port: 21, tenant: 't1' });
    expect(v).toMatchObject({ state: 'running', listen: 'tcp://x:21' });
    expect(v.options).toMatchObject({ port: 21, enabled: false, fail: false });
    await r.stopAll();
  });

  it('puts the old options back when new ones fail to start', async () => {
    const { r } = registry();
    await r.start('b');
    await expect(r.reconfigure('b', { port: 30, fail: true })).rejects.toThrow(/port 30 taken/);
    expect(r.get('b')).toMatchObject({ state: 'running', listen: 'tcp://x:12' });
    await r.stopAll();
  });

  it('hands create options with the schema defaults filled in', () => {
    const ctx = { intake: {} as never, tenant: 'x', keyBy: 'host' as const, logger: silentLogger };
    const s = fake.create('d', {}, ctx) as FakeSource;
    expect(s.options).toEqual({ enabled: false, port: 1, fail: false });
    expect(() => fake.create('d', { port: -5 }, ctx)).toThrow(/options of adapter d \(fake\)/);
  });
});
