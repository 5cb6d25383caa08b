import { readdirSync, readFileSync } from 'node:fs';
import { MemoryIntake, until } from '@siem/core/testing';
import { normalizeAll } from '@siem/normalize';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, listener, tcp } from './test-support/listener.js';
import { encodeWindow, jsonFrame, LumberjackClient, windowFrame } from './test-support/lumberjack-client.js';

/**
 * The windows_events listener over real TCP on 127.0.0.1 (no external service): NXLog-style NDJSON and
 * a Lumberjack v2 writer on the same port, ACKs only after the intake took the events, backpressure,
 * and errors that close one connection while the others keep flowing.
 */

const FIXTURES = new URL('../../normalize/src/fixtures/windows/', import.meta.url);
/** The committed shipper samples (libs/normalize/src/fixtures/windows), one JSON line each. */
const samples = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, line: JSON.stringify(JSON.parse(readFileSync(new URL(f, FIXTURES), 'utf8'))) }));
const nxlog = samples.filter((s) => s.file.startsWith('nxlog-'));
const winlogbeat = samples.filter((s) => s.file.startsWith('winlogbeat-'));

const clients: LumberjackClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await closeAll();
});

async function lj(port: number): Promise<LumberjackClient> {
  const c = await LumberjackClient.tcp(port);
  clients.push(c);
  return c;
}

describe('windows_events: newline-delimited JSON (NXLog om_tcp + to_json)', () => {
  it('takes one event per line, payload as sent, keyed by Hostname', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    expect(s.status().listen).toBe(`tcp://127.0.0.1:${port}`);
    const socket = await tcp(port);
    socket.end(`${nxlog.map((n) => n.line).join('\r\n')}\n`);
    await intake.waitFor(nxlog.length);
    const events = intake.events();
    expect(events.map((e) => e.payload.toString())).toEqual(nxlog.map((n) => n.line));
    for (const e of events) {
      expect(e.sourceType).toBe('windows');
      expect(e.syslog).toBeNull();
      expect(e.marks).toEqual([]);
      expect(e.source).toMatchObject({
        adapter: 'windows_events',
        transport: 'tcp',
        peerAddress: '127.0.0.1',
      });
    }
    expect(intake.records.map((r) => r.key)).toEqual(nxlog.map((n) => JSON.parse(n.line).Hostname));
    await until(() => s.status().counters.connections_ndjson === 1, 5000, 'protocol count');
    // and they are what the Windows normalizer takes: one row each, under the raw event's id
    for (const e of events) {
      const [row, ...more] = normalizeAll(e);
      expect(more).toEqual([]);
      expect(row).toMatchObject({
        sourceType: 'windows',
        eventId: e.id,
        hostName: JSON.parse(e.payload.toString()).Hostname,
      });
    }
  });

  it('keeps a malformed line marked, and another connection keeps flowing', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const a = await tcp(port);
    const b = await tcp(port);
    a.write('{"Hostname":"dc01","EventID":4624\n');
    b.write(`${nxlog[0]!.line}\n`);
    a.write(`${nxlog[1]!.line}\n`);
    await intake.waitFor(3);
    const bad = intake.events().find((e) => e.marks.includes('parse_error'))!;
    expect(bad.parseError).toBe('invalid_json');
    expect(bad.payload.toString()).toBe('{"Hostname":"dc01","EventID":4624');
    expect(s.status().counters).toMatchObject({ parse_errors: 1, parse_errors_invalid_json: 1 });
  });

  it('a line over max_frame_bytes closes that connection only, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_frame_bytes: 8192, max_message_bytes: 4096 });
    const big = await tcp(port);
    const ok = await tcp(port);
    const closed = new Promise<void>((r) => big.once('close', () => r()));
    big.write(`{"m":"${'x'.repeat(20_000)}`);
    await closed;
    ok.write(`${nxlog[0]!.line}\n`);
    await until(() => intake.records.some((r) => r.key === 'WIN-GG82ULGC9GO'), 5000, 'the other connection');
    await until(() => s.status().counters.closed_frame_too_large === 1, 5000, 'the close count');
    // what was read of the long line is passed on, cut and marked
    const cut = intake.events().find((e) => e.marks.includes('truncated'))!;
    expect(cut.payload.length).toBeLessThanOrEqual(4096);
  });

  it('pauses its sockets when the buffer asks, and resumes', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    intake.answer = 'pause';
    const socket = await tcp(port);
    socket.write(`${nxlog[0]!.line}\n`);
    await until(() => s.paused, 5000, 'pause');
    socket.write(`${nxlog[1]!.line}\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(intake.records).toHaveLength(1); // taken, then the socket stopped being read
    intake.resume();
    await intake.waitFor(2);
    expect(s.paused).toBe(false);
  });
});

describe('windows_events: Beats / Lumberjack v2 (Winlogbeat output.logstash)', () => {
  it('takes window, JSON and compressed frames on the NDJSON port, ACKing the last sequence', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const c = await lj(port);
    const events = winlogbeat.map((w) => w.line);
    expect(await c.send(events, false)).toBe(events.length);
    expect(intake.records).toHaveLength(events.length); // in the buffer before the ACK came back
    expect(await c.send(events, true)).toBe(events.length);
    expect(intake.records).toHaveLength(2 * events.length);
    const decoded = intake.events();
    expect(decoded.map((e) => e.payload.toString())).toEqual([...events, ...events]);
    for (const e of decoded) {
      expect(e.sourceType).toBe('windows');
      expect(e.source).toMatchObject({ adapter: 'windows_events', transport: 'lumberjack' });
    }
    expect(intake.records.map((r) => r.key)).toEqual(
      [...events, ...events].map((l) => JSON.parse(l).winlog.computer_name),
    );
    expect(decoded.map((e) => normalizeAll(e)[0]!.eventCode)).toEqual(
      [...events, ...events].map((l) => String(JSON.parse(l).winlog.event_id)),
    );
    // an NXLog sender on the same port at the same time
    const socket = await tcp(port);
    socket.write(`${nxlog[0]!.line}\n`);
    await intake.waitFor(2 * events.length + 1);
    expect(s.status().counters).toMatchObject({ connections_lumberjack: 1, connections_ndjson: 1 });
    expect(s.status().counters.lumberjack_acks).toBeGreaterThanOrEqual(2);
  });

  it('a big window across many reads: partial ACKs, the window ACKed in full before the next', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake);
    const c = await lj(port);
    const events = Array.from({ length: 2048 }, (_, i) =>
      JSON.stringify({
        winlog: { computer_name: `dc${i % 7}`, event_id: '4624' },
        message: 'x'.repeat(300),
        i,
      }),
    );
    // two windows written back to back (go-lumber pipelining): the first one's last ACK must come
    // before any ACK of the second
    c.write(Buffer.concat([encodeWindow(events, false), encodeWindow(events.slice(0, 10), true)]));
    await until(
      () => c.acks.filter((a) => a.seq === 10).length > 0 && intake.records.length === 2058,
      10_000,
    );
    const seqs = c.acks.map((a) => a.seq);
    const endOfFirst = seqs.indexOf(2048);
    expect(endOfFirst).toBeGreaterThanOrEqual(0);
    expect(seqs.slice(0, endOfFirst + 1)).toEqual([...seqs.slice(0, endOfFirst + 1)].sort((a, b) => a - b));
    expect(seqs.slice(endOfFirst + 1).every((q) => q <= 10)).toBe(true);
    expect(seqs[seqs.length - 1]).toBe(10);
  });

  it('keeps a malformed JSON frame marked and ACKs it', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake);
    const c = await lj(port);
    expect(await c.send(['{"winlog":', winlogbeat[0]!.line], true)).toBe(2);
    const [bad, good] = intake.events();
    expect(bad).toMatchObject({ marks: ['parse_error'], parseError: 'invalid_json' });
    expect(good!.marks).toEqual([]);
  });

  it('holds the ACK while the buffer pauses, with keepalive ACKs of 0, and ACKs on resume', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { lumberjack: { keepalive_ack_interval_ms: 100 } });
    const c = await lj(port);
    intake.answer = 'pause';
    c.write(
      encodeWindow(
        winlogbeat.map((w) => w.line),
        true,
      ),
    );
    await until(() => s.paused && intake.records.length === winlogbeat.length, 5000, 'pause');
    await until(() => c.acks.filter((a) => a.seq === 0).length >= 2, 5000, 'keepalive ACKs');
    expect(c.acks.every((a) => a.seq === 0)).toBe(true); // nothing ACKed while paused
    expect(s.status().counters.lumberjack_keepalive_acks).toBeGreaterThanOrEqual(2);
    intake.resume();
    expect(await c.awaitAck(winlogbeat.length)).toBe(winlogbeat.length);
    expect(s.paused).toBe(false);
    expect(s.status().counters.paused_ms).toBeGreaterThan(0);
  });

  it('does not ACK what the buffer rejected: the connection closes and the writer can resend', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    intake.answer = 'rejected';
    const c = await lj(port);
    c.write(encodeWindow([winlogbeat[0]!.line], true));
    await c.whenClosed();
    expect(c.acks).toEqual([]);
    await until(() => s.status().counters.closed_buffer_rejected === 1, 5000, 'the close count');
    expect(s.status().counters.discarded_full).toBe(1);
    intake.answer = 'ok';
    const again = await lj(port);
    expect(await again.send([winlogbeat[0]!.line], true)).toBe(1);
    expect(intake.records).toHaveLength(1);
  });

  it('a stream that ends inside a frame: events before it are kept and ACKed, the close counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const c = await lj(port);
    const whole = jsonFrame(1, winlogbeat[0]!.line);
    const cut = jsonFrame(2, winlogbeat[1]!.line).subarray(0, 20);
    c.write(Buffer.concat([windowFrame(2), whole, cut]));
    await c.awaitAck(1);
    c.socket.end();
    await until(() => s.status().counters.closed_truncated_frame === 1, 5000, 'the cut frame');
    expect(intake.records).toHaveLength(1);
  });

  it('lying frames close that connection only, counted; the others keep flowing', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_frame_bytes: 64 * 1024 });
    const good = await lj(port);
    const cases: [string, Buffer][] = [
      ['bad_frame_type', Buffer.from('2X\0\0\0\x01')],
      ['frame_too_large', Buffer.concat([windowFrame(1), Buffer.from('2J\0\0\0\x01\x7f\0\0\0')])],
      ['window_too_large', windowFrame(1_000_000)],
      ['bad_compressed_frame', Buffer.concat([windowFrame(1), Buffer.from('2C\0\0\0\x04nope')])],
    ];
    for (const [reason, bytes] of cases) {
      const c = await lj(port);
      c.write(bytes);
      await c.whenClosed();
      await until(() => s.status().counters[`closed_${reason}`] === 1, 5000, reason);
      expect(await good.send([winlogbeat[0]!.line], true)).toBe(1);
    }
    expect(intake.records).toHaveLength(cases.length);
  });

  it('protocol: ndjson reads a line starting with 2 as JSON', async () => {
    const intake = new MemoryIntake();
    const { port } = await listener(intake, { protocol: 'ndjson' });
    const socket = await tcp(port);
    socket.write('2\n');
    await intake.waitFor(1);
    expect(intake.events()[0]).toMatchObject({ parseError: 'not_an_object' });
  });

  it('stop() passes on and ACKs what was read, then closes', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const c = await lj(port);
    expect(await c.send([winlogbeat[0]!.line], false)).toBe(1);
    const socket = await tcp(port);
    socket.write(nxlog[0]!.line); // no line end yet
    await until(() => s.status().counters.connections_ndjson === 1, 5000);
    await new Promise((r) => setTimeout(r, 50));
    await s.stop(); // closeAll stops it again: a no-op
    expect(intake.records).toHaveLength(2);
    await c.whenClosed();
    expect(s.status().state).toBe('stopped');
  });
});
