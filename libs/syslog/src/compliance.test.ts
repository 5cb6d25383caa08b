import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { Source } from '@siem/core';
import { MemoryIntake, testContext, until } from '@siem/core/testing';
import { makeTestPki, type TestPki } from '@siem/local-stack';
import { type ComponentRef, metricsRegistry } from '@siem/observability';
import { componentSeriesValue, expectComponentSeriesMoved } from '@siem/observability/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syslogTcpAdapter, syslogTlsAdapter, syslogUdpAdapter } from './adapters.js';

/**
 * The component-metrics compliance check (issue 17) for every syslog listener: each runs on a free
 * port of 127.0.0.1, takes real traffic, and its vocabulary series (labelled with its own id and
 * type) move — received always, discarded and errors where the test provokes them.
 */

const started: Source[] = [];
const sockets: Socket[] = [];
let pki: TestPki;

beforeAll(() => {
  pki = makeTestPki(mkdtempSync(join(tmpdir(), 'siem-syslog-compliance-')));
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function start(source: Source): Promise<number> {
  started.push(source);
  await source.start();
  return Number(source.status().listen!.split(':').pop());
}

const source = (id: string, type: string): ComponentRef => ({ id, kind: 'source', type });

/** The value of one vocabulary series of `ref` with `labels`, 0 when it has none. */
const series = (name: string, ref: ComponentRef, labels: Record<string, string>) =>
  componentSeriesValue(metricsRegistry, name, ref.id, labels);

async function tcpClient(port: number): Promise<Socket> {
  const c = connect({ host: '127.0.0.1', port });
  sockets.push(c);
  c.on('error', () => undefined);
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  return c;
}

describe('component metrics compliance: syslog listeners', () => {
  it('syslog_udp: received, errors (a datagram without a header), discarded by its rate limit', async () => {
    const ref = source('compliance_udp', 'syslog_udp');
    const intake = new MemoryIntake();
    const port = await start(
      syslogUdpAdapter.create(
        ref.id,
        { host: '127.0.0.1', port: 0, rate_limit: { enabled: true, events_per_second: 1, burst: 2 } },
        testContext(intake),
      ),
    );
    const c = createSocket('udp4');
    for (const m of ['<13>Jan 18 11:07:53 host1 app: one', 'no header at all', 'over', 'the limit']) {
      await new Promise<void>((resolve, reject) =>
        c.send(m, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
    c.close();
    const counters = () => started[0]!.status().counters!;
    await until(() => counters().received_events === 4 && counters().discarded === 2, 5000, 'four datagrams');
    await expectComponentSeriesMoved(metricsRegistry, ref, { received: true, discarded: true, errors: true });
    expect(
      await series('siem_component_discarded_events_total', ref, {
        reason: 'rate_limited',
        intentional: 'true',
      }),
    ).toBe(2);
    expect(
      await series('siem_component_errors_total', ref, { error_code: 'no_header', stage: 'processing' }),
    ).toBe(1);
    expect(await series('siem_component_received_events_total', ref, {})).toBe(4);
  });

  it('syslog_tcp: received, errors, discarded when the buffer rejects (a failure, not intended)', async () => {
    const ref = source('compliance_tcp', 'syslog_tcp');
    const intake = new MemoryIntake();
    intake.answer = 'rejected';
    intake.rejectReason = 'disk_full';
    const port = await start(
      syslogTcpAdapter.create(ref.id, { host: '127.0.0.1', port: 0 }, testContext(intake)),
    );
    const c = await tcpClient(port);
    c.write('<13>Jan 18 11:07:53 host1 app: one\nno header at all\n');
    await until(() => started[0]!.status().counters!.discarded === 2, 5000, 'two discards');
    await expectComponentSeriesMoved(metricsRegistry, ref, { received: true, discarded: true, errors: true });
    expect(
      await series('siem_component_discarded_events_total', ref, {
        reason: 'disk_full',
        intentional: 'false',
      }),
    ).toBe(2);
  });

  it('syslog_tcp: a frame over max_frame_bytes is an error of the receiving stage', async () => {
    const ref = source('compliance_tcp_frame', 'syslog_tcp');
    const intake = new MemoryIntake();
    const port = await start(
      syslogTcpAdapter.create(
        ref.id,
        { host: '127.0.0.1', port: 0, max_frame_bytes: 5000 },
        testContext(intake),
      ),
    );
    const c = await tcpClient(port);
    c.write('999999 <13>');
    await until(() => started[0]!.status().counters!.closed_frame_too_large === 1, 5000, 'frame_too_large');
    await expectComponentSeriesMoved(metricsRegistry, ref, { errors: true });
    expect(
      await series('siem_component_errors_total', ref, { error_code: 'frame_too_large', stage: 'receiving' }),
    ).toBe(1);
  });

  it('syslog_tls: received and errors over TLS', async () => {
    const ref = source('compliance_tls', 'syslog_tls');
    const intake = new MemoryIntake();
    const port = await start(
      syslogTlsAdapter.create(
        ref.id,
        { host: '127.0.0.1', port: 0, cert_file: pki.server.cert, key_file: pki.server.key },
        testContext(intake),
      ),
    );
    const c = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca.cert), servername: 'localhost' });
    sockets.push(c);
    c.on('error', () => undefined);
    await new Promise<void>((resolve) => c.once('secureConnect', () => resolve()));
    c.write('<13>Jan 18 11:07:53 host1 app: one\nno header at all\n');
    await intake.waitFor(2);
    await expectComponentSeriesMoved(metricsRegistry, ref, { received: true, errors: true });
  });
});
