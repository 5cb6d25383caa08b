import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { CapturingLogger, MemoryIntake, testContext, until } from '@siem/core/testing';
import { reusePortSupported } from '@siem/net';
import { afterEach, describe, expect, it } from 'vitest';
import { syslogUdpAdapter } from './adapters.js';
import type { SyslogUdpSource } from './udp.js';

const started: SyslogUdpSource[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function listener(intake: MemoryIntake, options: Record<string, unknown> = {}, ctx = {}) {
  const s = syslogUdpAdapter.create(
    'syslog_udp',
    { host: '127.0.0.1', port: 0, ...options },
    testContext(intake, ctx),
  ) as SyslogUdpSource;
  started.push(s);
  await s.start();
  const port = Number(s.status().listen!.split(':').pop());
  return { s, port };
}

async function send(port: number, messages: (string | Buffer)[], host = '127.0.0.1'): Promise<void> {
  const c = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const m of messages) {
    await new Promise<void>((resolve, reject) =>
      c.send(m, port, host, (err) => (err ? reject(err) : resolve())),
    );
  }
  c.close();
}

describe('syslog UDP listener', () => {
  it('turns datagrams into raw events with header, peer, receive time and the exact payload', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    expect(s.status()).toMatchObject({
      state: 'running',
      type: 'syslog_udp',
      listen: `udp://127.0.0.1:${port}`,
    });
    const before = Date.now();
    await send(port, [
      '<34>Oct 11 22:14:15 mymachine su: su root failed\n',
      '<165>1 2003-10-11T22:14:15.003Z host2 app - ID47 [x@1 a="b"] msg',
      'no header at all',
    ]);
    await intake.waitFor(3);
    const [a, b, c] = intake.events();
    expect(a!.payload.toString()).toBe('<34>Oct 11 22:14:15 mymachine su: su root failed');
    expect(a!.syslog).toMatchObject({
      format: 'rfc3164',
      facility: 4,
      severity: 2,
      hostname: 'mymachine',
      appName: 'su',
    });
    expect(a!.source).toMatchObject({
      adapter: 'syslog_udp',
      transport: 'udp',
      peerAddress: '127.0.0.1',
      tls: null,
    });
    expect(a!.source.peerPort).toBeGreaterThan(0);
    expect(Date.parse(a!.receivedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(a!.syslog!.msgOffset).toBe(34);
    expect(b!.syslog).toMatchObject({
      format: 'rfc5424',
      hostname: 'host2',
      structuredData: { 'x@1': { a: 'b' } },
    });
    expect(c!.marks).toEqual(['parse_error']);
    expect(c!.parseError).toBe('no_header');
    expect(intake.records.map((r) => r.key)).toEqual(['mymachine', 'host2', '127.0.0.1']);
    expect(s.status().counters).toMatchObject({ received_events: 3, parse_errors: 1, discarded: 0 });
  });

  it('keys by tenant when asked, and stamps the listener tenant', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake, { tenant: 'acme' }, { keyBy: 'tenant' });
    await send(port, ['<13>Jan 18 11:07:53 h a: x']);
    await intake.waitFor(1);
    expect(intake.records[0]!.key).toBe('acme');
    expect(intake.events()[0]!.tenant).toBe('acme');
  });

  it('listens on IPv6', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { host: '::1' });
    expect(s.status().listen).toBe(`udp://[::1]:${port}`);
    await send(port, ['<13>Jan 18 11:07:53 h a: over v6'], '::1');
    await intake.waitFor(1);
    expect(intake.events()[0]!.source.peerAddress).toBe('::1');
  });

  it('truncates at max_message_bytes (on a character boundary), marks and counts it; keeps invalid UTF-8', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_message_bytes: 480 });
    const long = `<13>Jan 18 11:07:53 h a: ${'é'.repeat(400)}`;
    const bad = Buffer.concat([Buffer.from('<13>Jan 18 11:07:53 h a: caf'), Buffer.from([0xe9, 0xff])]);
    await send(port, [long, bad]);
    await intake.waitFor(2);
    const [t, u] = intake.events();
    expect(t!.marks).toEqual(['truncated']);
    expect(t!.originalSize).toBe(Buffer.byteLength(long));
    expect(t!.payload.length).toBeLessThanOrEqual(480);
    expect(t!.payload.length).toBeGreaterThanOrEqual(479);
    expect(Buffer.from(long).subarray(0, t!.payload.length).equals(t!.payload)).toBe(true);
    expect(u!.marks).toEqual(['invalid_utf8']);
    expect(u!.payload.equals(bad)).toBe(true);
    expect(s.status().counters).toMatchObject({ truncated: 1, invalid_utf8: 1 });
  });

  it('counts every event of a rejected batch as discarded under the buffer reason', async () => {
    const intake = new MemoryIntake();
    intake.answer = 'rejected';
    intake.rejectReason = 'disk_full';
    const { s, port } = await listener(intake);
    await send(port, ['<13>a', '<13>b', '<13>c']);
    await until(() => s.status().counters.discarded === 3, 5000, 'three discards');
    expect(s.status().counters).toMatchObject({ received_events: 3, discarded: 3, discarded_disk_full: 3 });
    expect(intake.records).toHaveLength(0);
  });

  it('rate-limits per source address with a token bucket, counting what it discards', async () => {
    const intake = new MemoryIntake();
    const lines: CapturingLogger['lines'] = [];
    const { s, port } = await listener(
      intake,
      { rate_limit: { enabled: true, events_per_second: 1, burst: 5 } },
      { logger: new CapturingLogger(lines) },
    );
    await send(
      port,
      Array.from({ length: 20 }, (_, i) => `<13>Jan 18 11:07:53 h a: ${i}`),
    );
    await until(() => s.status().counters.received_events === 20, 5000, '20 received');
    expect(intake.records.length).toBeGreaterThanOrEqual(5);
    expect(intake.records.length).toBeLessThanOrEqual(8); // a token refills per second of sending
    expect(s.status().counters.discarded_rate_limited).toBe(20 - intake.records.length);
    // one log line for the burst of discards, not one per event
    expect(lines.filter((l) => l.msg.includes('rate limit'))).toHaveLength(1);
  });

  it('offers the datagrams of one event-loop turn as one batch', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake);
    await send(
      port,
      Array.from({ length: 200 }, (_, i) => `<13>Jan 18 11:07:53 h a: ${i}`),
    );
    await intake.waitFor(200);
    expect(intake.batches).toBeLessThan(200);
  });

  it('reads kernel drops of its own socket from /proc/net/udp', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, {
      receive_buffer_bytes: 4096,
      kernel_stats_interval_ms: 60_000,
    });
    const total = 2000;
    // Another process floods the socket while this event loop is blocked: the small receive buffer
    // overflows and the kernel drops datagrams, which only the kernel can do on demand.
    const sender = spawn(process.execPath, [
      '-e',
      `const s=require('dgram').createSocket('udp4');let n=0;(function go(){if(n>=${total}){s.close();return}s.send('<13>Jan 18 11:07:53 h a: flood '+n++,${port},'127.0.0.1',go)})()`,
    ]);
    const exited = new Promise((r) => sender.once('exit', r));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    await exited;
    await until(() => (s.status().counters.received_events ?? 0) > 0, 5000, 'some datagrams');
    await new Promise((r) => setTimeout(r, 200));
    s.readKernelStats();
    const c = s.status().counters;
    expect(c.kernel_drops).toBeGreaterThan(0);
    // every datagram is either received or counted as a kernel drop (a few could in principle be lost
    // before the socket, in the loopback backlog, which the socket's counter does not see)
    expect(c.received_events! + c.kernel_drops!).toBeLessThanOrEqual(total);
    expect(c.received_events! + c.kernel_drops!).toBeGreaterThanOrEqual(total * 0.98);
  });

  it('starts with reuse_port (SO_REUSEPORT on Node.js 22.12+, a warning before)', async () => {
    const lines: CapturingLogger['lines'] = [];
    const a = await listener(
      new MemoryIntake(),
      { reuse_port: true },
      { logger: new CapturingLogger(lines) },
    );
    if (reusePortSupported) {
      const b = await listener(new MemoryIntake(), { reuse_port: true, port: a.port });
      expect(b.s.status().state).toBe('running');
    } else {
      expect(lines.some((l) => l.level === 'warn' && l.msg.includes('reuse_port'))).toBe(true);
    }
    expect(a.s.status().state).toBe('running');
  });

  it('fails to start on a port in use with SIEM_ERR_ADAPTER_LISTEN and reports it in status', async () => {
    const { port } = await listener(new MemoryIntake());
    const s = syslogUdpAdapter.create('second', { host: '127.0.0.1', port }, testContext(new MemoryIntake()));
    await expect(s.start()).rejects.toMatchObject({ code: 'SIEM_ERR_ADAPTER_LISTEN' });
    expect(s.status()).toMatchObject({ state: 'failed' });
    expect(s.status().error).toMatch(/EADDRINUSE/);
  });

  it('rejects options that do not match the schema, and unknown time zones', () => {
    expect(() =>
      syslogUdpAdapter.create('x', { port: -1 } as never, testContext(new MemoryIntake())),
    ).toThrow(/SIEM_ERR_CONFIG_INVALID|port/);
    expect(() =>
      syslogUdpAdapter.create('x', { default_timezone: 'Mars/Olympus' }, testContext(new MemoryIntake())),
    ).toThrow(/unknown time zone/);
  });
});
