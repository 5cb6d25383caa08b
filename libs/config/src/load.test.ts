import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSiemError, type SiemError } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { exampleConfig } from './example.js';
import { loadConfig } from './load.js';
import { Port, Section, type Static, Type } from './schema.js';
import type { ConfigProblem } from './validate.js';

const schema = Section({
  name: Type.String({ default: 'siem', description: 'A name.' }),
  data_dir: Type.String({ default: './data', description: 'Data folder.' }),
  server: Section({
    port: Port('Port.', 8080),
    enabled: Type.Boolean({ default: true }),
    tags: Type.Array(Type.String(), { default: [] }),
  }),
  mode: Type.Union([Type.Literal('block'), Type.Literal('drop_newest')], { default: 'block' }),
  url: Type.Union([Type.String(), Type.Null()], { default: null }),
});
type Config = Static<typeof schema>;

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'siem-config-')), 'siem.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (err) {
    expect(isSiemError(err, 'SIEM_ERR_CONFIG_INVALID')).toBe(true);
    return (err as SiemError).details as ConfigProblem[];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('fills every default when nothing is given, and freezes the result', () => {
    const config = loadConfig<Config>(schema, { env: {} });
    expect(config).toEqual({
      name: 'siem',
      data_dir: './data',
      server: { port: 8080, enabled: true, tags: [] },
      mode: 'block',
      url: null,
    });
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('lists every problem in one error: unknown keys, wrong types, bad enum values', () => {
    const file = yamlFile('name: 3\nserver:\n  port: 70000\n  colour: red\nmode: sometimes\nextra: 1\n');
    const problems = problemsOf(() => loadConfig(schema, { file, env: {} }));
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '/name', message: 'must be string' },
        { path: '/server/port', message: 'must be <= 65535' },
        { path: '/server/colour', message: 'unknown key "colour"' },
        { path: '/extra', message: 'unknown key "extra"' },
      ]),
    );
    expect(problems.some((p) => p.path === '/mode')).toBe(true);
  });

  it('applies SIEM_* environment overrides with the type the schema wants', () => {
    const file = yamlFile('server:\n  port: 9000\n');
    const config = loadConfig<Config>(schema, {
      file,
      env: {
        SIEM_SERVER__PORT: '9090',
        SIEM_SERVER__ENABLED: 'false',
        SIEM_SERVER__TAGS: 'a,b',
        SIEM_DATA_DIR: '/srv/siem',
        SIEM_URL: 'postgres://db/siem',
        SIEM_CONFIG: 'ignored because file is given',
        SIEM_STACK_DIR: 'not a config key, reserved',
        PATH: 'not ours',
      },
    });
    expect(config.server).toEqual({ port: 9090, enabled: false, tags: ['a', 'b'] });
    expect(config.data_dir).toBe('/srv/siem');
    expect(config.url).toBe('postgres://db/siem');
  });

  it('rejects environment variables that name no key, together with the file problems', () => {
    const problems = problemsOf(() =>
      loadConfig(schema, { file: yamlFile('server:\n  port: x\n'), env: { SIEM_SERVER__PROT: '1' } }),
    );
    expect(problems).toEqual([
      { path: 'env SIEM_SERVER__PROT', message: 'does not name a configuration key' },
      { path: '/server/port', message: 'must be integer' },
    ]);
  });

  it('reads the file named by SIEM_CONFIG and reports unreadable or invalid YAML clearly', () => {
    const config = loadConfig<Config>(schema, { env: { SIEM_CONFIG: yamlFile('name: from-env-file\n') } });
    expect(config.name).toBe('from-env-file');
    expect(() => loadConfig(schema, { file: yamlFile('server: [\n'), env: {} })).toThrow(/not valid YAML/);
    expect(() => loadConfig(schema, { file: '/nonexistent/siem.yaml', env: {} })).toThrow(/cannot read/);
    expect(() => loadConfig(schema, { file: yamlFile('- a list\n'), env: {} })).toThrow(
      /mapping at the top level/,
    );
  });
});

describe('exampleConfig', () => {
  it('documents every key with its description and default, and loads back to the defaults', () => {
    const text = exampleConfig(schema, 'header line');
    expect(text).toContain('# header line');
    expect(text).toContain('# Data folder.\ndata_dir: ./data');
    expect(text).toContain('server:\n  # Port.\n  port: 8080');
    expect(text).toContain('  tags: []');
    const fromExample = loadConfig<Config>(schema, { file: yamlFile(text), env: {} });
    expect(fromExample).toEqual(loadConfig<Config>(schema, { env: {} }));
  });
});
