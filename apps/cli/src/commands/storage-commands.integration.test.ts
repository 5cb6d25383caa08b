import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { createPool } from '@siem/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const mainModule = new URL('../main.ts', import.meta.url);

function siem(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIEM_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgsFor(mainModule), ...args], {
      env: { ...clean, SIEM_LOG__LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('siem migrate and siem tiers (PostgreSQL 15, a database of their own)', () => {
  const dbName = `siem_test_cli_${Date.now().toString(36)}_${process.pid}`;
  const url = stackUrls.postgres.replace(/\/siem$/, `/${dbName}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'siem-cli-data-'));
  const admin = createPool({ url: stackUrls.postgres, size: 1 });
  beforeAll(async () => {
    await admin.query(`create database ${dbName}`);
  });
  afterAll(async () => {
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates once, then reports the schema up to date', async () => {
    const env = { SIEM_STORAGE__DATABASE_URL: url, SIEM_DATA_DIR: dataDir };
    const first = await siem(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(
      /^schema siem \(postgres\): applied 0001_events, 0002_rollups, 0003_frozen_ranges/,
    );
    const again = await siem(['migrate'], env);
    expect(again.stdout).toMatch(/up to date \(3 already applied\)/);
  });

  it('runs the tier job and shows every tier', async () => {
    const env = { SIEM_STORAGE__DATABASE_URL: url, SIEM_DATA_DIR: dataDir };
    const run = await siem(['tiers', 'run', '--json'], env);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ schema: 'siem', engine: 'postgres', errors: [] });
    const status = await siem(['tiers', 'status'], env);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^schema siem \(postgres\)/);
    for (const tier of ['hot', 'warm', 'cold', 'frozen', 'rollup events_hourly'])
      expect(status.stdout).toContain(tier);
  });

  it('refuses to run without a database URL', async () => {
    const r = await siem(['tiers', 'status'], { SIEM_DATA_DIR: dataDir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/database_url is not set/);
  });
});
