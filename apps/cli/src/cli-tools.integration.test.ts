/**
 * The newcomer's tools against a real `siem serve --role all` (embedded TimescaleDB, every port
 * ephemeral): the banner's own copy-paste `logger` line delivers an event the API returns; `siem tail`
 * prints an event sent over syslog while it follows; `siem top --once` shows a non-zero rate;
 * `siem poke` passes, then fails with ✗ once an adapter is stopped, and fails when no API answers.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RoleProcess, startRoleProcess, uniqueSuffix, waitUntil } from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Banner } from './banner.js';
import { closedPort, ephemeralAllRoleEnv, siemSync as siem, spawnSiem } from './test-support.js';

function logger(udpPort: number, message: string): void {
  const r = spawnSync(
    'logger',
    ['-n', '127.0.0.1', '-P', String(udpPort), '-d', '-t', 'sshd', '-p', 'auth.info', message],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (r.status !== 0) throw new Error(`logger failed: ${r.stderr}`);
}

describe('siem poke, tail and top against a running all role', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'siem-cli-tools-'));
  const marker = `m${uniqueSuffix()}`;
  let proc: RoleProcess;
  let banner: Banner & { data_dir: string };
  let api: string;
  let udpPort: number;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    proc = await startRoleProcess('all', ephemeralAllRoleEnv(dataDir), { startTimeoutMs: 240_000 });
    banner = (await proc.waitForLog('banner', 10_000)) as unknown as Banner & { data_dir: string };
    api = banner.api!;
    const udp = banner.listeners.find((l) => l.adapter === 'syslog_udp')!;
    udpPort = Number(/:(\d+)$/.exec(udp.address)![1]);
  }, 300_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await proc?.stop('SIGTERM', 30_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs the banner as one JSON line with the ports actually bound and lines that work', async () => {
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api).not.toBe('http://127.0.0.1:0');
    expect(banner.docs).toBe(`${api}/docs`);
    expect(banner.data_dir).toBe(dataDir);
    expect(banner.database).toBe(`embedded TimescaleDB (${join(dataDir, 'timescaledb')})`);
    expect(banner.listeners.map((l) => l.adapter).sort()).toEqual([
      'cloud_http',
      'syslog_tcp',
      'syslog_udp',
      'windows_events',
    ]);
    for (const l of banner.listeners) expect(l.address).not.toMatch(/:0(\/|$)/);
    expect((await fetch(banner.docs!)).status).toBe(200);

    // the first copy-paste line, as a person would paste it into a shell
    const r = spawnSync('sh', ['-c', banner.send[0]!], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    // …and the curl line to the cloud intake
    const c = spawnSync('sh', ['-c', banner.send.find((s) => s.startsWith('curl'))!], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(c.stdout).toMatch(/"accepted":1/);
    const got = await waitUntil(
      'the banner events through the API',
      async () => {
        const res = await fetch(`${api}/api/v1/events?limit=10`);
        const page = (await res.json()) as { data: Array<{ userName: string; sourceType: string }> };
        return page.data.length >= 2 ? page.data : undefined;
      },
      60_000,
      500,
    );
    expect(got.map((e) => `${e.sourceType} ${e.userName}`).sort()).toEqual([
      'cloudtrail alice',
      'syslog admin',
    ]);
  });

  it('siem tail prints an event sent over syslog while it follows', async () => {
    const tail = spawnSiem(['tail', '--api', api, '--json', '--max', '1', '--q', marker]);
    children.push(tail.child);
    await waitUntil(
      'tail to connect',
      async () => (tail.stderr().includes('tail: following') ? true : undefined),
      60_000,
    );
    // an event that does not match the filter is not printed
    logger(udpPort, `Accepted password for nobody from 198.51.100.1 port 1 ssh2`);
    logger(udpPort, `Accepted password for carol from 198.51.100.7 port 50022 ssh2 ${marker}`);
    expect(await tail.exited, tail.stderr()).toBe(0);
    const lines = tail.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      userName: 'carol',
      srcIp: '198.51.100.7',
      outcome: 'success',
      message: expect.stringContaining(marker),
    });
  });

  it('siem top --once shows the rates per adapter and stage', async () => {
    logger(udpPort, `top ${marker}`);
    const frame = await waitUntil(
      'a non-zero received rate in the frame',
      async () => {
        const r = siem(['top', '--once', '--api', api]);
        expect(r.status, r.stderr).toBe(0);
        const line = r.stdout.split('\n').find((l) => /^\s+received\s/.test(l));
        return line !== undefined && Number(line.trim().split(/\s+/)[1]) > 0 ? r.stdout : undefined;
      },
      60_000,
      1000,
    );
    expect(frame).toMatch(/^siem top {2}http:\/\/127\.0\.0\.1:\d+ {2}at /);
    expect(frame).toMatch(/syslog_udp\.received_events\s+\d/);
    expect(frame).toMatch(/stored\s+\d/);
    expect(frame).toContain('main: memory');
    expect(frame).toMatch(/database {3}ok/);
  });

  it('siem poke passes, then fails with ✗ for a stopped adapter', async () => {
    const good = siem(['poke', '--api', api, '--json']);
    const report = JSON.parse(good.stdout) as {
      ok: boolean;
      checks: Array<{ name: string; status: string }>;
    };
    expect(
      report.checks.filter((c) => c.status === 'failed'),
      good.stdout,
    ).toEqual([]);
    expect(good.status).toBe(0);
    expect(report.ok).toBe(true);
    const names = report.checks.map((c) => `${c.status} ${c.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'ok api',
        'ok ready database',
        'ok ready buffer',
        'ok adapter syslog_udp',
        'skipped adapter syslog_tls',
        'ok buffer main',
        'skipped kafka',
        'ok tier job',
      ]),
    );

    const stopped = await fetch(`${api}/api/v1/adapters/syslog_udp/stop`, {
      method: 'POST',
      headers: { 'x-siem-client': 'test' },
    });
    expect(stopped.status).toBe(200);
    const bad = siem(['poke', '--api', api]);
    expect(bad.status).toBe(1);
    const line = bad.stdout.split('\n').find((l) => l.includes('adapter syslog_udp'));
    expect(line).toMatch(/^✗ adapter syslog_udp\s+stopped, but enabled in the configuration$/);
    expect(bad.stdout).toMatch(/^✓ api /m);
    await fetch(`${api}/api/v1/adapters/syslog_udp/start`, {
      method: 'POST',
      headers: { 'x-siem-client': 'test' },
    });
  });

  it('one clear line and exit 1 when no API answers; exit 2 for bad arguments', async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const poke = siem(['poke', '--api', nowhere]);
    expect(poke.status).toBe(1);
    expect(poke.stdout).toMatch(
      /^✗ api {2}cannot reach the API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    for (const cmd of ['top', 'tail']) {
      const r = siem([cmd, '--api', nowhere]);
      expect(r.status, cmd).toBe(1);
      expect(r.stderr.trim().split('\n'), cmd).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^siem ${cmd}: cannot reach the API`));
    }
    for (const args of [
      ['poke', '--frobnicate'],
      ['top', '--interval', 'soon'],
      ['tail', '--max', '0'],
      ['consume', '--topic', 'severity.loud'],
      ['serve', '--log-format', 'fancy'],
      ['serve', '--no-such-option'],
    ]) {
      const r = siem(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    // the server refuses the filter before the upgrade: a bad argument of ours, said in one line
    const filter = siem(['tail', '--api', api, '--src-ip', 'not-an-address']);
    expect(filter.status).toBe(2);
    expect(filter.stderr).toMatch(/^siem tail: invalid parameters: src_ip/);
  });
});
