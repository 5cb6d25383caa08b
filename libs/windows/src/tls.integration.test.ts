import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryIntake, testContext, until } from '@siem/core/testing';
import { makeTestPki, opensslClient, type TestPki } from '@siem/local-stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { windowsEventsAdapter } from './adapter.js';
import type { WindowsEventsSource } from './source.js';
import { LumberjackClient } from './test-support/lumberjack-client.js';

/**
 * windows_events over TLS with real clients: `openssl s_client` sending NXLog om_ssl-style lines
 * (to_json() output, one per line), and a Lumberjack v2 writer over Node's TLS client with a client
 * certificate (Winlogbeat's ssl.certificate), both on the one TLS port.
 */
let pki: TestPki;
let dir: string;
const started: WindowsEventsSource[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'siem-windows-tls-'));
  pki = makeTestPki(dir, { cn: 'winlogbeat-dc01.example' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

const sample = (file: string) =>
  JSON.stringify(
    JSON.parse(
      readFileSync(new URL(`../../normalize/src/fixtures/windows/${file}`, import.meta.url), 'utf8'),
    ),
  );

async function listener(intake: MemoryIntake, tls: Record<string, unknown>) {
  const s = windowsEventsAdapter.create(
    'windows_events',
    {
      host: '127.0.0.1',
      port: 0,
      tls: { enabled: true, cert_file: pki.server.cert, key_file: pki.server.key, ...tls },
    },
    testContext(intake),
  ) as WindowsEventsSource;
  started.push(s);
  await s.start();
  return { s, port: Number(s.status().listen!.split(':').pop()) };
}

const sClient = (port: number, text: string, extra: string[] = []) =>
  opensslClient(port, pki.ca.cert, text, extra);

describe('windows_events over TLS', () => {
  it('takes NXLog-style NDJSON from openssl s_client', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, {});
    expect(s.status().listen).toBe(`tls://127.0.0.1:${port}`);
    const lines = [sample('nxlog-4624.json'), sample('nxlog-4688.json'), sample('fluentbit-4740.json')];
    const r = await sClient(port, `${lines.join('\n')}\n`);
    expect(r.code, r.stderr).toBe(0);
    await intake.waitFor(3);
    const events = intake.events();
    expect(events.map((e) => e.payload.toString())).toEqual(lines);
    expect(events[0]!.source).toMatchObject({ transport: 'tls', peerAddress: '127.0.0.1', tls: null });
    expect(events.every((e) => e.sourceType === 'windows' && e.marks.length === 0)).toBe(true);
  });

  it('a malformed line over TLS is kept marked; the connection goes on', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, {});
    const good = sample('nxlog-4625.json');
    const r = await sClient(port, `{"Hostname":"dc01","EventID":\n${good}\n`);
    expect(r.code, r.stderr).toBe(0);
    await intake.waitFor(2);
    const [bad, ok] = intake.events();
    expect(bad).toMatchObject({ marks: ['parse_error'], parseError: 'invalid_json' });
    expect(ok!.payload.toString()).toBe(good);
    expect(s.status().counters.parse_errors_invalid_json).toBe(1);
  });

  it('Lumberjack v2 over mTLS: ACKed, client identity on every event', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { client_auth: 'required', ca_file: pki.ca.cert });
    const c = await LumberjackClient.tls(port, {
      ca: readFileSync(pki.ca.cert),
      cert: readFileSync(pki.client.cert),
      key: readFileSync(pki.client.key),
      servername: 'localhost',
    });
    const events = [
      sample('winlogbeat-4625.json'),
      sample('winlogbeat-4688.json'),
      sample('winlogbeat-1102.json'),
    ];
    expect(await c.send(events, true)).toBe(3);
    expect(await c.send(events.slice(0, 1), false)).toBe(1);
    c.close();
    const decoded = intake.events();
    expect(decoded.map((e) => e.payload.toString())).toEqual([...events, events[0]]);
    for (const e of decoded) {
      expect(e.source.transport).toBe('lumberjack');
      expect(e.source.tls?.subjectCn).toBe('winlogbeat-dc01.example');
    }
    // a client without a certificate is refused at the handshake (TLS 1.3 tells the client only after
    // its side finished, so only the server's count is checked), and nothing it sent is taken
    await sClient(port, `${events[0]}\n`);
    await until(() => s.status().counters.closed_tls_handshake === 1, 10_000, 'the refused handshake');
    await new Promise((r) => setTimeout(r, 200));
    expect(intake.records).toHaveLength(4);
  });
});
