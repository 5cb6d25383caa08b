/**
 * `siem serve --role all` as `npm start` runs it — no Kafka, the embedded TimescaleDB engine under a
 * data folder of its own, default settings but for the ports — fed by util-linux `logger` over UDP and
 * TCP and by NXLog-style JSON lines on the Windows events listener: the events come back through the
 * API's GET /api/v1/events with their normalized fields; SIGTERM ends it with exit code 0; started
 * again on the same data folder it still has them.
 *
 * Records no normalizer can read go to <data_dir>/dead-letters/: Windows lines that are not JSON or
 * not a Windows event (the listener keeps them, marked, and the normalizer refuses them), and records
 * that are not raw events at all. No listener makes the latter, so the test puts them where the all
 * role also takes records from: the on-disk buffer a previous run left behind, replayed at start-up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBuffer, resolveBufferDir } from '@siem/buffer';
import { decodeRawEvent, type NormalizedEvent, RawEventEncoder } from '@siem/core';
import {
  freePort,
  logSummary,
  type RoleProcess,
  startRoleProcess,
  uniqueSuffix,
  waitUntil,
} from '@siem/local-stack';
import { loadRootConfig } from '@siem/runtime';
import { afterAll, describe, expect, it } from 'vitest';

const API_PORT = await freePort();
/** A text search covers only the last day without `from`; the buffer's seeded event is older. */
const SINCE = '2025-01-01T00:00:00Z';
const SYSLOG_PORT = await freePort();
const WINDOWS_PORT = await freePort();
const NXLOG_4624 = new URL('../../../libs/normalize/src/fixtures/windows/nxlog-4624.json', import.meta.url);

function logger(transport: 'udp' | 'tcp', tag: string, priority: string, message: string): void {
  const args = [
    transport === 'udp' ? '--udp' : '--tcp',
    ...(transport === 'tcp' ? ['--octet-count'] : []),
    '--server',
    '127.0.0.1',
    '--port',
    String(SYSLOG_PORT),
    '--rfc5424',
    '-t',
    tag,
    '--id=4242',
    '-p',
    priority,
    message,
  ];
  const r = spawnSync('logger', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`logger ${args.join(' ')} failed: ${r.stderr}`);
}

/** Newline-delimited JSON to the Windows events listener, as NXLog om_tcp sends it. */
function sendWindowsLines(lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(WINDOWS_PORT, '127.0.0.1', () => {
      socket.end(`${lines.join('\n')}\n`);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

interface EventsPage {
  data: NormalizedEvent[];
  next: string | null;
  total: number | null;
}

async function events(query: Record<string, string>): Promise<EventsPage> {
  const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/events?${new URLSearchParams(query)}`);
  if (!res.ok) throw new Error(`GET /api/v1/events answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as EventsPage;
}

describe('all role: syslog → buffer → normalizers → embedded TimescaleDB, no Kafka', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'siem-all-role-'));
  const marker = `m${uniqueSuffix()}`;
  const env = {
    SIEM_DATA_DIR: dataDir,
    SIEM_API__PORT: String(API_PORT),
    SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(SYSLOG_PORT),
    SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(SYSLOG_PORT),
    SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
    SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: String(WINDOWS_PORT),
  };
  let proc: RoleProcess | null = null;

  afterAll(async () => {
    // SIGTERM: the role stops its embedded database (a SIGKILLed role leaves it running)
    await proc?.stop('SIGTERM', 30_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores what logger sends over UDP and TCP, keeps it across a restart, dead-letters to files', async () => {
    // What a previous run left in the buffer: a record that is no raw event, a raw event no normalizer
    // can read, and a good one.
    const config = loadRootConfig({ env: { SIEM_DATA_DIR: dataDir } });
    const seeded = new EventBuffer(
      { ...config.buffer, dir: resolveBufferDir(config.buffer, dataDir) },
      { name: 'main' },
    );
    await seeded.open();
    const enc = new RawEventEncoder(
      { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '192.0.2.5', peerPort: 40000, tls: null },
      'default',
    );
    const cloud = new RawEventEncoder(
      { adapter: 'cloud_http', transport: 'https', peerAddress: '192.0.2.6', peerPort: 443, tls: null },
      'default',
    );
    const head = '<78>1 2026-01-01T10:00:00Z seeded-host cron 77 - - ';
    const line = `${head}${marker} seeded from the buffer`;
    const unreadable = '{"Records": []}';
    expect(
      seeded.offer([
        { key: 'garbage', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
        {
          key: 'aws',
          value: cloud.encode({
            receivedAtMs: Date.now(),
            sourceType: 'cloudtrail',
            syslog: null,
            marks: null,
            parseError: null,
            originalSize: unreadable.length,
            payload: Buffer.from(unreadable),
          }),
        },
        {
          key: 'seeded-host',
          value: enc.encode({
            receivedAtMs: Date.now(),
            sourceType: 'syslog',
            syslog: {
              format: 'rfc5424',
              facility: 9,
              severity: 6,
              timestamp: '2026-01-01T10:00:00Z',
              hostname: 'seeded-host',
              appName: 'cron',
              procId: '77',
              msgId: null,
              structuredData: null,
              msgOffset: head.length,
            },
            marks: null,
            parseError: null,
            originalSize: line.length,
            payload: Buffer.from(line),
          }),
        },
      ]),
    ).toBe('ok');
    await seeded.close();

    proc = await startRoleProcess('all', env, { startTimeoutMs: 240_000 });
    const db = proc.logs('embedded TimescaleDB listening')[0];
    expect(String(db?.database)).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres$/);

    logger(
      'udp',
      'sshd',
      'auth.info',
      `Accepted password for alice from 198.51.100.7 port 50022 ssh2 ${marker}`,
    );
    logger(
      'tcp',
      'sshd',
      'auth.info',
      `Failed password for invalid user bob from 203.0.113.9 port 41000 ssh2 ${marker}`,
    );
    logger(
      'tcp',
      'sudo',
      'authpriv.notice',
      `   carol : TTY=pts/1 ; PWD=/srv/carol ; USER=root ; COMMAND=/usr/bin/id ${marker}`,
    );

    const winHost = `WIN-${marker}`;
    const nxlog = JSON.parse(readFileSync(NXLOG_4624, 'utf8')) as Record<string, unknown>;
    const notJson = `{"EventID": 4625, "Hostname": "${winHost}", "Message": "cut short`;
    const notWindows = JSON.stringify({ Hostname: winHost, Message: `no event id ${marker}` });
    await sendWindowsLines([JSON.stringify({ ...nxlog, Hostname: winHost }), notJson, notWindows]);

    const page = await waitUntil(
      'the four events through the API',
      async () => {
        const p = await events({ q: marker, from: SINCE, limit: '100' });
        return p.data.length >= 4 ? p : undefined;
      },
      120_000,
      500,
    );
    expect(page.data).toHaveLength(4);
    const by = (app: string, user: string) => page.data.find((e) => e.appName === app && e.userName === user);
    const local = page.data.filter((e) => e.appName !== 'cron');
    for (const e of local) {
      expect(e).toMatchObject({ tenantId: 'default', sourceType: 'syslog', hostIp: '127.0.0.1' });
      expect(Math.abs(Date.parse(e.time) - Date.now())).toBeLessThan(10 * 60_000);
    }
    expect(by('sshd', 'alice'), 'UDP').toMatchObject({
      category: 'authentication',
      action: 'logon',
      outcome: 'success',
      srcIp: '198.51.100.7',
      srcPort: 50022,
      severity: 6,
      processPid: 4242,
      classUid: 3002,
    });
    expect(by('sshd', 'bob'), 'TCP').toMatchObject({
      action: 'logon-failed',
      outcome: 'failure',
      srcIp: '203.0.113.9',
      srcPort: 41000,
      severity: 5,
    });
    expect(by('sudo', 'carol'), 'TCP').toMatchObject({ category: 'process', action: 'sudo', severity: 5 });
    expect(
      page.data.find((e) => e.appName === 'cron'),
      'replayed from the buffer',
    ).toMatchObject({
      hostName: 'seeded-host',
      hostIp: '192.0.2.5',
      time: expect.stringMatching(/^2026-01-01T10:00:00(\.0+)?(Z|\+00:00)$/),
      message: `${marker} seeded from the buffer`,
    });

    const win = await waitUntil('the Windows event through the API', async () => {
      const p = await events({ host: winHost, source_type: 'windows' });
      return p.data.length >= 1 ? p : undefined;
    });
    expect(win.data).toHaveLength(1);
    expect(win.data[0]).toMatchObject({
      eventCode: '4624',
      category: 'authentication',
      action: 'logon',
      outcome: 'success',
      userName: 'Administrator',
      hostIp: '127.0.0.1',
      time: expect.stringMatching(/^2015-11-12T00:24:35\.079785(Z|\+00:00)$/),
    });

    // the four unreadable records are in the dead-letter files, with the reason and the original record
    const letters = await waitUntil('the dead letters', async () => {
      const dir = join(dataDir, 'dead-letters');
      const lines = readdirSync(dir)
        .filter((f) => f.endsWith('.ndjson'))
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, string>);
      return lines.length >= 4 ? lines : undefined;
    });
    expect(letters).toHaveLength(4);
    expect(letters.find((l) => l.key === 'garbage')).toMatchObject({
      reason: 'invalid_raw_event',
      value_base64: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
    });
    const aws = letters.find((l) => l.key === 'aws')!;
    expect(aws).toMatchObject({ reason: 'normalize_failed', error: expect.stringMatching(/empty batch/) });
    // a letter's value is the raw event as it was read from the buffer
    const rawOf = (l: Record<string, string>) => decodeRawEvent(l.value!);
    expect(rawOf(aws)).toMatchObject({ sourceType: 'cloudtrail' });
    expect(rawOf(aws).payload.toString('utf8')).toBe(unreadable);
    const payloadOf = (l: Record<string, string>) =>
      l.value === undefined ? undefined : rawOf(l).payload.toString('utf8');
    const cut = letters.find((l) => payloadOf(l) === notJson);
    expect(cut, 'the line that is not JSON').toMatchObject({
      reason: 'normalize_failed',
      key: '127.0.0.1', // no computer name to read: keyed by the peer
      error: expect.stringMatching(/not valid JSON/),
    });
    expect(rawOf(cut!)).toMatchObject({ sourceType: 'windows', marks: ['parse_error'] });
    expect(letters.find((l) => payloadOf(l) === notWindows)).toMatchObject({
      reason: 'normalize_failed',
      key: winHost,
      error: expect.stringMatching(/not a Windows event/),
    });

    let exit = await proc.stop('SIGTERM');
    expect(exit, logSummary(proc.lines)).toEqual({ code: 0, signal: null });

    // the same data folder again: the rows are still there, and new ones join them
    proc = await startRoleProcess('all', env, { startTimeoutMs: 240_000 });
    expect(
      (await events({ q: marker, from: SINCE, limit: '100' })).data.map((e) => e.eventId).sort(),
    ).toEqual(page.data.map((e) => e.eventId).sort());
    logger(
      'udp',
      'sshd',
      'auth.info',
      `Accepted publickey for dave from 198.51.100.8 port 50023 ssh2 ${marker}`,
    );
    const after = await waitUntil('the event sent after the restart', async () => {
      const p = await events({ q: marker, from: SINCE, limit: '100' });
      return p.data.length >= 5 ? p : undefined;
    });
    expect(after.data).toHaveLength(5);
    expect(after.data.find((e) => e.userName === 'dave')).toMatchObject({
      outcome: 'success',
      srcIp: '198.51.100.8',
    });
    // nothing dead-lettered twice by the replay
    const dir = join(dataDir, 'dead-letters');
    const count = readdirSync(dir)
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
      .filter((l) => l !== '').length;
    expect(count).toBe(4);

    exit = await proc.stop('SIGTERM');
    expect(exit, logSummary(proc.lines)).toEqual({ code: 0, signal: null });
  });
});
