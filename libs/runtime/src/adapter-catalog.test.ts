import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSiemError } from '@siem/core';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterInstances } from './adapter-catalog.js';
import { loadRootConfig } from './config-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'siem-adapters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function load(yaml: string) {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return loadRootConfig({ file, env: {} });
}

function problemsOf(yaml: string): { path: string; message: string }[] {
  try {
    load(yaml);
  } catch (err) {
    if (isSiemError(err, 'SIEM_ERR_CONFIG_INVALID'))
      return err.details as { path: string; message: string }[];
    throw err;
  }
  throw new Error('configuration was accepted');
}

describe('adapters by id', () => {
  it('reads adapters given by id next to the five shorthand ones, defaults filled in', () => {
    const config = load(`
adapters:
  fw_tcp: { type: syslog_tcp, port: 1601, tenant: t1 }
  dc-tcp: { type: syslog_tcp, port: 1602, tenant: t2, max_connections: 7 }
`);
    const all = adapterInstances(config.adapters);
    expect(all.map((a) => `${a.id}:${a.type}:${a.form}`)).toEqual([
      'fw_tcp:syslog_tcp:id',
      'dc-tcp:syslog_tcp:id',
      'syslog_udp:syslog_udp:shorthand',
      'syslog_tcp:syslog_tcp:shorthand',
      'syslog_tls:syslog_tls:shorthand',
      'windows_events:windows_events:shorthand',
      'cloud_http:cloud_http:shorthand',
    ]);
    const fw = all.find((a) => a.id === 'fw_tcp')!;
    const shorthand = all.find((a) => a.id === 'syslog_tcp')!;
    // The same defaults as the shorthand entry of that type, except what the file set.
    expect({ ...fw.options, port: 0, tenant: undefined }).toEqual({
      ...shorthand.options,
      port: 0,
      tenant: undefined,
    });
    expect(fw.options).toMatchObject({ port: 1601, tenant: 't1' });
    expect(fw.options).not.toHaveProperty('type');
    expect(all.find((a) => a.id === 'dc-tcp')!.options).toMatchObject({ max_connections: 7, tenant: 't2' });
    expect(Object.isFrozen(config.adapters.fw_tcp)).toBe(true);
  });

  it('accepts a type that repeats the shorthand key, and today’s shorthand unchanged', () => {
    const config = load(
      'adapters:\n  syslog_udp: { type: syslog_udp, port: 1603 }\n  syslog_tcp: { port: 1604 }\n',
    );
    const all = adapterInstances(config.adapters);
    expect(all.find((a) => a.id === 'syslog_udp')!.options).toMatchObject({ port: 1603 });
    expect(all.find((a) => a.id === 'syslog_tcp')!.options).toMatchObject({ port: 1604 });
  });

  it('still reads the example configuration with the same adapters as the defaults', () => {
    const example = readFileSync(
      new URL('../../../deploy/config/siem.example.yaml', import.meta.url),
      'utf8',
    );
    const fromExample = adapterInstances(load(example).adapters);
    const fromDefaults = adapterInstances(loadRootConfig({ env: {} }).adapters);
    expect(fromExample).toEqual(fromDefaults);
  });

  it('lists every problem of an id entry against its own type’s schema, with its path', () => {
    const problems = problemsOf(`
adapters:
  fw_tcp: { type: syslog_tcp, port: 99999, colour: red }
  bad: { type: syslog_tcp, max_connections: -1 }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/adapters/fw_tcp/port' }),
        { path: '/adapters/fw_tcp/colour', message: 'unknown key "colour"' },
        expect.objectContaining({ path: '/adapters/bad/max_connections' }),
      ]),
    );
  });

  it('refuses an unknown type, a missing type, a bad id, a type that contradicts its key', () => {
    expect(problemsOf('adapters:\n  x: { type: gopher, port: 1 }\n')).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/adapters/x/type' })]),
    );
    expect(problemsOf('adapters:\n  x: { port: 1 }\n')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/adapters/x', message: expect.stringContaining('type') }),
      ]),
    );
    expect(problemsOf('adapters:\n  Bad.Id: { type: syslog_tcp }\n').length).toBeGreaterThan(0);
    expect(problemsOf('adapters:\n  syslog_tcp: { type: syslog_udp }\n')).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/adapters/syslog_tcp/type' })]),
    );
  });

  it('refuses two enabled adapters on one socket, and a second cloud_http', () => {
    const problems = problemsOf(`
adapters:
  a: { type: syslog_tcp, port: 1605, host: 127.0.0.1 }
  b: { type: syslog_tcp, port: 1605, host: 127.0.0.1 }
  c: { type: syslog_udp, port: 1605, host: 127.0.0.1 }
  d: { type: syslog_tcp, port: 1605, host: 127.0.0.1, enabled: false }
  e: { type: cloud_http }
`);
    expect(problems).toEqual([
      {
        path: '/adapters/b/port',
        message: 'tcp 127.0.0.1:1605 is also the address of adapter a: both are enabled',
      },
      {
        path: '/adapters/e/type',
        message: 'one cloud_http adapter per process: configure it as adapters.cloud_http',
      },
    ]);
  });
});
