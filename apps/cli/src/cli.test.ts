import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgsFor } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { renderExampleConfig } from './commands/config-example.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const mainModule = new URL('./main.ts', import.meta.url);

function siem(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIEM_')));
  return spawnSync(process.execPath, [...nodeArgsFor(mainModule), ...args], {
    encoding: 'utf8',
    env: { ...clean, ...env },
    timeout: 60_000,
  });
}

describe('siem CLI', () => {
  it('keeps deploy/config/siem.example.yaml equal to what the schema generates', () => {
    const committed = readFileSync(join(repoRoot, 'deploy/config/siem.example.yaml'), 'utf8');
    expect(committed).toBe(renderExampleConfig());
  });

  it('keeps infrastructure/kafka/topics.yaml equal to what the topic definitions generate', () => {
    const committed = readFileSync(join(repoRoot, 'infrastructure/kafka/topics.yaml'), 'utf8');
    const generated = siem(['kafka-topics', '--strimzi', '--cluster', 'siem-kafka', '--replicas', '3']);
    expect(generated.status).toBe(0);
    expect(generated.stdout).toBe(committed);
    expect(committed).toContain('name: siem.raw');
    expect(committed).toContain('min.insync.replicas: "2"');
  });

  it('validate accepts the example and lists every problem of a bad file with exit code 1', () => {
    const ok = siem(['validate', join(repoRoot, 'deploy/config/siem.example.yaml')]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/valid/);

    const file = join(mkdtempSync(join(tmpdir(), 'siem-cli-')), 'bad.yaml');
    writeFileSync(file, 'api:\n  port: -1\nadapters:\n  syslog_udp:\n    prot: 1\nkafak: {}\n');
    const bad = siem(['validate', file], { SIEM_LOG__LEVEL: 'loud' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/4 problems/);
    expect(bad.stderr).toContain('/api/port: must be >= 0');
    expect(bad.stderr).toContain('/adapters/syslog_udp/prot: unknown key "prot"');
    expect(bad.stderr).toContain('/kafak: unknown key "kafak"');
    expect(bad.stderr).toContain('/log/level');
  });

  it('validate says how it read each adapter: shorthand key or id with a type', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'siem-cli-')), 'ids.yaml');
    writeFileSync(
      file,
      'adapters:\n  syslog_tcp: { enabled: false }\n  fw_tcp: { type: syslog_tcp, port: 1514, tenant: fw }\n',
    );
    const ok = siem(['validate', file]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('  fw_tcp: syslog_tcp (type: syslog_tcp), enabled port 1514 tenant fw');
    expect(ok.stdout).toContain('  syslog_tcp: syslog_tcp (key is its type), disabled port 5514');
  });

  it('prints usage and rejects unknown commands and roles', () => {
    expect(siem(['--help']).stdout).toMatch(/serve .*validate/s);
    expect(siem(['frobnicate']).status).toBe(2);
    const badRole = siem(['serve', '--role', 'everything']);
    expect(badRole.status).toBe(2);
    expect(badRole.stderr).toMatch(/unknown role/);
  });
});
