/**
 * Adapters by id, as an operator runs them: one configuration file with two `syslog_tcp` adapters on
 * two ports for two tenants (the shorthand ones switched off), `siem serve --role all`, util-linux
 * `logger` sending to each port. The control API lists both by id with their own counters, every
 * stored event carries its adapter's tenant, and stopping one leaves the other taking traffic.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedEvent } from '@siem/core';
import { freePort, type RoleProcess, startRoleProcess, uniqueSuffix, waitUntil } from '@siem/local-stack';
import { afterAll, describe, expect, it } from 'vitest';

const API_PORT = await freePort();
const PORT_A = await freePort();
const PORT_B = await freePort();
const PORT_W = await freePort();

/** Newline-delimited JSON Windows events, as NXLog om_tcp sends them. */
function sendWindows(lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(PORT_W, '127.0.0.1', () => socket.end(`${lines.join('\n')}\n`));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

function logger(port: number, message: string): { status: number | null; stderr: string } {
  const args = ['--tcp', '--octet-count', '--server', '127.0.0.1', '--port', String(port), '--rfc5424'];
  const r = spawnSync('logger', [...args, '-t', 'app', '-p', 'user.info', message], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: r.status, stderr: r.stderr };
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${API_PORT}${path}`, init);
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

interface AdapterView {
  id: string;
  name: string;
  type: string;
  state: string;
  listen: string | null;
  counters: Record<string, number>;
  options: Record<string, unknown>;
}

describe('two syslog_tcp adapters by id, one per tenant', () => {
  const dir = mkdtempSync(join(tmpdir(), 'siem-adapter-ids-'));
  const marker = `m${uniqueSuffix()}`;
  let proc: RoleProcess | null = null;

  afterAll(async () => {
    await proc?.stop('SIGTERM', 30_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes traffic on both, stamps each tenant, lists both and stops one alone', async () => {
    const file = join(dir, 'siem.yaml');
    writeFileSync(
      file,
      [
        'adapters:',
        '  syslog_udp: { enabled: false }',
        '  syslog_tcp: { enabled: false }',
        '  windows_events: { enabled: false }',
        `  fw_a: { type: syslog_tcp, host: 127.0.0.1, port: ${PORT_A}, tenant: t1 }`,
        `  fw-b: { type: syslog_tcp, host: 127.0.0.1, port: ${PORT_B}, tenant: t2 }`,
        `  dc: { type: windows_events, host: 127.0.0.1, port: ${PORT_W}, tenant: t3 }`,
        '  cloud_http: { enabled: true }',
        '',
      ].join('\n'),
    );
    proc = await startRoleProcess(
      'all',
      {
        SIEM_CONFIG: file,
        SIEM_DATA_DIR: join(dir, 'data'),
        SIEM_API__PORT: String(API_PORT),
        SIEM_ADAPTERS__SYSLOG_UDP__ENABLED: 'false',
        SIEM_ADAPTERS__SYSLOG_TCP__ENABLED: 'false',
        SIEM_ADAPTERS__WINDOWS_EVENTS__ENABLED: 'false',
      },
      { startTimeoutMs: 240_000 },
    );

    for (let i = 0; i < 3; i++) expect(logger(PORT_A, `to-a ${i} ${marker}`).status).toBe(0);
    for (let i = 0; i < 2; i++) expect(logger(PORT_B, `to-b ${i} ${marker}`).status).toBe(0);

    const page = await waitUntil(
      'five events stored',
      async () => {
        const p = await api<{ data: NormalizedEvent[] }>(`/api/v1/events?q=${marker}&limit=100`);
        return p.data.length >= 5 ? p : undefined;
      },
      120_000,
      500,
    );
    const tenantOf = (prefix: string) =>
      page.data.filter((e) => e.message?.startsWith(prefix)).map((e) => e.tenantId);
    expect(tenantOf('to-a')).toEqual(['t1', 't1', 't1']);
    expect(tenantOf('to-b')).toEqual(['t2', 't2']);

    const { data } = await api<{ data: AdapterView[] }>('/api/v1/adapters');
    const byId = Object.fromEntries(data.map((a) => [a.id, a]));
    expect(byId.fw_a).toMatchObject({ name: 'fw_a', type: 'syslog_tcp', state: 'running' });
    expect(byId['fw-b']).toMatchObject({ name: 'fw-b', type: 'syslog_tcp', state: 'running' });
    expect(byId.fw_a!.listen).toBe(`tcp://127.0.0.1:${PORT_A}`);
    expect(byId.fw_a!.counters.received_events).toBe(3);
    expect(byId['fw-b']!.counters.received_events).toBe(2);
    expect(byId.syslog_tcp).toMatchObject({ type: 'syslog_tcp', state: 'stopped' });

    const stopped = await api<AdapterView>('/api/v1/adapters/fw_a/stop', {
      method: 'POST',
      headers: { 'x-siem-client': 'test' },
    });
    expect(stopped).toMatchObject({ id: 'fw_a', state: 'stopped', listen: null });
    expect((await api<AdapterView>('/api/v1/adapters/fw-b')).state).toBe('running');
    expect(logger(PORT_A, `after-stop ${marker}`).status).not.toBe(0);
    expect(logger(PORT_B, `to-b after ${marker}`).status).toBe(0);
    await waitUntil(
      'the event sent to fw-b after fw_a stopped',
      async () => {
        const p = await api<{ data: NormalizedEvent[] }>(`/api/v1/events?q=${marker}&limit=100`);
        return p.data.some((e) => e.message?.startsWith('to-b after') && e.tenantId === 't2') || undefined;
      },
      60_000,
      500,
    );
    const unknown = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/adapters/nope`);
    expect(unknown.status).toBe(404);
  }, 360_000);

  it('counts syslog, Windows and cloud intake alike in /api/v1/stats', async () => {
    const windows = Array.from({ length: 4 }, (_, i) =>
      JSON.stringify({
        EventID: 4624,
        Hostname: `WIN-${i}`,
        EventTime: new Date().toISOString(),
        Message: `w${i} ${marker}`,
      }),
    );
    await sendWindows(windows);
    const trail = {
      Records: Array.from({ length: 7 }, (_, i) => ({
        eventVersion: '1.08',
        eventTime: new Date().toISOString(),
        eventSource: 'signin.amazonaws.com',
        eventName: `ConsoleLogin${i}`,
        awsRegion: 'us-east-1',
      })),
    };
    const cloud = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/ingest/cloudtrail`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(trail),
    });
    expect(cloud.status).toBe(202);
    // Sent so far: 3 + 1 to fw_a (the one after its stop was refused: nothing received), 2 + 1 to fw-b.
    const sent = { fw_a: 3, 'fw-b': 3, dc: 4, cloud_http: 7 };
    type Totals = { stages: { received?: number }; adapters: Record<string, { received_events?: number }> };
    const totals = await waitUntil(
      'the stats to count every event sent',
      async () => {
        const t = (await api<{ totals: Totals }>('/api/v1/stats')).totals;
        return t.stages.received === 17 ? t : undefined;
      },
      60_000,
      500,
    );
    for (const [id, n] of Object.entries(sent)) expect(totals.adapters[id]?.received_events, id).toBe(n);
  }, 120_000);
});
