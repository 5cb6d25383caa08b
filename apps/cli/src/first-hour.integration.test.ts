/**
 * The first hour of a new user, end to end: `siem serve --role all` (what `npm start` runs: no Kafka,
 * the embedded TimescaleDB under a temporary data folder, every port ephemeral), then the real
 * `siem emit-sample` child processes over TCP syslog, Lumberjack (Winlogbeat's protocol) and the cloud
 * HTTP intake, 20 000 events each; every event comes back through GET /api/v1/events. Each intake
 * stamps its own tenant, so the count per tenant is the count per protocol. `siem poke` passes
 * against the same process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import {
  childEnv,
  freePort,
  logSummary,
  type RoleProcess,
  startRoleProcess,
  waitUntil,
} from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cliMain = new URL('./main.ts', import.meta.url);
const COUNT = 20_000;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `siem <args>` as a child process (killed if it outlives `timeoutMs`). */
function siem(args: string[], env: Record<string, string>, timeoutMs = 180_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgsFor(cliMain), ...args], {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('first hour: siem serve --role all, siem emit-sample over every intake, events through the API', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'siem-first-hour-'));
  const ports = { api: 0, syslog: 0, windows: 0 };
  let proc: RoleProcess | null = null;

  beforeAll(async () => {
    ports.api = await freePort();
    ports.syslog = await freePort();
    ports.windows = await freePort();
    proc = await startRoleProcess(
      'all',
      {
        SIEM_DATA_DIR: dataDir,
        SIEM_API__HOST: '127.0.0.1',
        SIEM_API__PORT: String(ports.api),
        // totals must be exact for 20 000 events
        SIEM_API__QUERY__COUNT_LIMIT: String(10 * COUNT),
        SIEM_API__QUERY__COUNT_TIMEOUT_MS: '20000',
        SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
        SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(ports.syslog),
        SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
        SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(ports.syslog),
        SIEM_ADAPTERS__SYSLOG_TCP__TENANT: 'fh-tcp',
        SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
        SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: String(ports.windows),
        SIEM_ADAPTERS__WINDOWS_EVENTS__TENANT: 'fh-windows',
        SIEM_ADAPTERS__CLOUD_HTTP__TENANT: 'fh-cloud',
      },
      { startTimeoutMs: 240_000 },
    );
  }, 300_000);

  afterAll(async () => {
    // SIGTERM, with time to stop the embedded database (its watchdog ends it if the role is killed).
    // The clean exit itself is all-role.integration.test.ts's to check.
    await proc?.stop('SIGTERM', 90_000);
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  async function storedCount(tenant: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${ports.api}/api/v1/events?tenant=${tenant}&limit=1`);
    if (!res.ok) throw new Error(`GET /api/v1/events answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { total: number | null; total_exact: boolean };
    if (page.total !== null && !page.total_exact) throw new Error(`the total for ${tenant} is not exact`);
    return page.total ?? -1;
  }

  async function emitAndCount(
    protocol: string,
    port: number,
    tenant: string,
  ): Promise<Record<string, unknown>> {
    const run = await siem(
      ['emit-sample', String(COUNT), '--protocol', protocol, '--to', `127.0.0.1:${port}`, '--json'],
      {},
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ protocol, sent: COUNT, refused: 0, error: null });
    const stored = await waitUntil(
      `${COUNT} ${protocol} events through the API`,
      async () => {
        const n = await storedCount(tenant);
        return n >= COUNT ? n : undefined;
      },
      240_000,
      1000,
    );
    expect(stored, logSummary(proc!.lines)).toBe(COUNT);
    return summary;
  }

  it('tcp syslog: 20 000 events sent, 20 000 stored', async () => {
    const s = await emitAndCount('tcp', ports.syslog, 'fh-tcp');
    expect(s.acknowledged).toBeNull();
  }, 400_000);

  it('lumberjack: 20 000 events acknowledged, 20 000 stored', async () => {
    const s = await emitAndCount('lumberjack', ports.windows, 'fh-windows');
    expect(s.acknowledged).toBe(COUNT);
    // the normalized fields of a Windows logon failure, as an analyst filters for them
    const res = await fetch(
      `http://127.0.0.1:${ports.api}/api/v1/events?tenant=fh-windows&event_code=4625&limit=5`,
    );
    const page = (await res.json()) as { data: Record<string, unknown>[] };
    expect(page.data.length).toBeGreaterThan(0);
    for (const e of page.data) {
      expect(e).toMatchObject({ category: 'authentication', outcome: 'failure', sourceType: 'windows' });
    }
  }, 400_000);

  it('http cloud intake: 20 000 records acknowledged, 20 000 stored', async () => {
    const s = await emitAndCount('http', ports.api, 'fh-cloud');
    expect(s.acknowledged).toBe(COUNT);
  }, 400_000);

  it('siem poke passes against the running process', async () => {
    const run = await siem(['poke', '--api', `http://127.0.0.1:${ports.api}`], {
      SIEM_DATA_DIR: dataDir,
      SIEM_API__PORT: String(ports.api),
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  }, 120_000);
});
