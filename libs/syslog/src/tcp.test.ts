import { connect, type Socket } from 'node:net';
import { MemoryIntake, testContext, until } from '@siem/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { syslogTcpAdapter, syslogTlsAdapter } from './adapters.js';
import type { SyslogStreamSource } from './stream.js';

const started: SyslogStreamSource[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function listener(intake: MemoryIntake, options: Record<string, unknown> = {}) {
  const s = syslogTcpAdapter.create(
    'syslog_tcp',
    { host: '127.0.0.1', port: 0, ...options },
    testContext(intake),
  ) as SyslogStreamSource;
  started.push(s);
  await s.start();
  const port = Number(s.status().listen!.split(':').pop());
  return { s, port };
}

async function client(port: number): Promise<Socket> {
  const c = connect({ host: '127.0.0.1', port });
  clients.push(c);
  c.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  return c;
}

const closed = (c: Socket) => new Promise<void>((r) => (c.destroyed ? r() : c.once('close', () => r())));
const octet = (m: string) => `${Buffer.byteLength(m)} ${m}`;

describe('syslog TCP listener', () => {
  it('reads LF-framed and octet-counted connections on the same port', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    expect(s.status().listen).toBe(`tcp://127.0.0.1:${port}`);
    const lf = await client(port);
    const oc = await client(port);
    lf.write('<13>Jan 18 11:07:53 host1 app[1]: line one\n<13>Jan 18 11:07:54 host1 app[1]: line');
    oc.write(octet('<165>1 2003-10-11T22:14:15.003Z host2 app - - - multi\nline'));
    lf.write(' two\n');
    oc.write(octet('<165>1 - host2 app - - - second'));
    await intake.waitFor(4);
    const byHost = (h: string) => intake.events().filter((e) => e.syslog?.hostname === h);
    expect(byHost('host1').map((e) => e.payload.toString())).toEqual([
      '<13>Jan 18 11:07:53 host1 app[1]: line one',
      '<13>Jan 18 11:07:54 host1 app[1]: line two',
    ]);
    expect(byHost('host2').map((e) => e.payload.toString())).toEqual([
      '<165>1 2003-10-11T22:14:15.003Z host2 app - - - multi\nline',
      '<165>1 - host2 app - - - second',
    ]);
    const e = byHost('host1')[0]!;
    expect(e.source).toMatchObject({ adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '127.0.0.1' });
    expect(e.source.peerPort).toBe(lf.localPort);
    expect(s.status().counters).toMatchObject({
      received_events: 4,
      active_connections: 2,
      connections_accepted: 2,
    });
  });

  it('offers the frames of one read as one batch', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake);
    const c = await client(port);
    c.write(Array.from({ length: 500 }, (_, i) => `<13>Jan 18 11:07:53 h a: ${i}\n`).join(''));
    await intake.waitFor(500);
    expect(intake.batches).toBeLessThan(50);
  });

  it('reads one chunk per connection per turn of the event loop, so a burst cannot hold the loop', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake);
    // which turn of the loop each batch (one per read) was offered in, and from which connection
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    tick();
    const reads: string[] = [];
    const offer = intake.offer.bind(intake);
    intake.offer = (records) => {
      reads.push(`${turn} ${records[0]!.key}`);
      return offer(records);
    };
    const lines = 20_000;
    const a = await client(port);
    const b = await client(port);
    const burst = (host: string) =>
      Array.from(
        { length: lines },
        (_, i) => `<13>Jan 18 11:07:53 ${host} app: line ${i} ${'x'.repeat(80)}\n`,
      ).join('');
    try {
      a.write(burst('host-a'));
      b.write(burst('host-b'));
      await intake.waitFor(2 * lines);
    } finally {
      ticking = false;
    }
    // about 2 MB per connection: dozens of reads each, spread over as many turns
    expect(reads.length).toBeGreaterThan(20);
    expect(new Set(reads).size).toBe(reads.length);
  });

  it('a lying octet count closes only that connection, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const liar = await client(port);
    const good = await client(port);
    liar.write('10 <13>hello there, this is much longer than ten\n');
    await closed(liar);
    good.write('<13>Jan 18 11:07:53 h a: still here\n');
    await until(() => intake.events().some((e) => e.payload.toString().includes('still here')));
    expect(good.destroyed).toBe(false);
    expect(s.status().counters).toMatchObject({ closed_bad_octet_count: 1 });
    // the part that was read as a frame was passed on, not dropped silently
    expect(intake.events().some((e) => e.payload.toString() === '<13>hello ')).toBe(true);
  });

  it('a frame over max_frame_bytes closes its connection; over max_message_bytes is truncated', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_message_bytes: 1000, max_frame_bytes: 5000 });
    const a = await client(port);
    const long = `<13>Jan 18 11:07:53 h a: ${'x'.repeat(2000)}`;
    a.write(`${long}\n`);
    await intake.waitFor(1);
    expect(intake.events()[0]!.marks).toEqual(['truncated']);
    expect(intake.events()[0]!.originalSize).toBe(long.length);
    expect(intake.events()[0]!.payload.toString()).toBe(long.slice(0, 1000));
    a.write(`${'y'.repeat(6000)}`);
    await closed(a);
    expect(s.status().counters).toMatchObject({ closed_frame_too_large: 1, truncated: 2 });
    const b = await client(port);
    b.write('999999 <13>');
    await closed(b);
    expect(s.status().counters.closed_frame_too_large).toBe(2);
  });

  it('refuses connections over max_connections, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_connections: 2 });
    await client(port);
    await client(port);
    await until(() => s.status().counters.active_connections === 2);
    const third = await client(port);
    await closed(third);
    await until(() => s.status().counters.closed_connection_limit === 1);
  });

  it('closes idle connections, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { idle_timeout_ms: 200 });
    const c = await client(port);
    c.write('<13>Jan 18 11:07:53 h a: then silence\n');
    await closed(c);
    expect(intake.records).toHaveLength(1);
    await until(() => s.status().counters.closed_idle_timeout === 1);
    expect(s.status().counters.active_connections).toBe(0);
  });

  it('keeps a connection paused by backpressure open past idle_timeout_ms, and times it out again after', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { idle_timeout_ms: 200 });
    const c = await client(port);
    intake.answer = 'pause';
    c.write('<13>Jan 18 11:07:53 h a: before the pause\n');
    await intake.waitFor(1);
    c.write('<13>Jan 18 11:07:53 h a: sent while paused\n');
    await new Promise((r) => setTimeout(r, 800)); // 4 idle timeouts: the connection must stay
    expect(c.destroyed).toBe(false);
    expect(s.status().counters.closed_idle_timeout ?? 0).toBe(0);
    intake.answer = 'ok';
    intake.resume();
    await intake.waitFor(2); // what it sent while paused is not lost
    await closed(c); // idle again after the pause: closed
    await until(() => s.status().counters.closed_idle_timeout === 1);
  });

  it('pauses every socket when the buffer says pause, resumes on its signal, counts the paused time', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const a = await client(port);
    const b = await client(port);
    intake.answer = 'pause';
    a.write('<13>Jan 18 11:07:53 h a: first\n');
    await intake.waitFor(1);
    expect(s.paused).toBe(true);
    const batches = intake.batches;
    // both sockets hold what arrives meanwhile; nothing is offered and nothing is lost
    for (let i = 0; i < 50; i++) {
      a.write(`<13>Jan 18 11:07:53 h a: a${i}\n`);
      b.write(`<13>Jan 18 11:07:53 h b: b${i}\n`);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(intake.batches).toBe(batches);
    expect(intake.resumeListeners).toBe(1);
    intake.resume();
    await intake.waitFor(101);
    expect(s.paused).toBe(false);
    expect(s.status().counters.paused_ms).toBeGreaterThanOrEqual(250);
    expect(intake.resumeListeners).toBe(0);
  });

  it('stop() stops accepting, passes on what was read and closes the connections', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const c = await client(port);
    c.write('<13>Jan 18 11:07:53 h a: complete\n<13>Jan 18 11:07:53 h a: no line end yet');
    await intake.waitFor(1);
    await new Promise((r) => setTimeout(r, 100)); // the unterminated line has arrived too
    await s.stop();
    expect(s.status()).toMatchObject({ state: 'stopped', listen: null });
    expect(intake.records).toHaveLength(2);
    expect(s.status().counters).toMatchObject({ closed_shutdown: 1, active_connections: 0 });
    await closed(c);
  });

  it('TLS without certificate files fails to start with SIEM_ERR_TLS_MATERIAL', async () => {
    const s = syslogTlsAdapter.create(
      'syslog_tls',
      { host: '127.0.0.1', port: 0, cert_file: '/nonexistent/tls.crt', key_file: '/nonexistent/tls.key' },
      testContext(new MemoryIntake()),
    );
    await expect(s.start()).rejects.toMatchObject({ code: 'SIEM_ERR_TLS_MATERIAL' });
    expect(s.status().state).toBe('failed');
    const none = syslogTlsAdapter.create(
      't2',
      { host: '127.0.0.1', port: 0 },
      testContext(new MemoryIntake()),
    );
    await expect(none.start()).rejects.toThrow(/cert_file and key_file/);
  });
});
