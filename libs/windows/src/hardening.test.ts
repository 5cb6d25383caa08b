import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { MemoryIntake, until } from '@siem/core/testing';
import { pendingBytesBudget } from '@siem/net';
import { normalizeAll } from '@siem/normalize';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, listener, tcp } from './test-support/listener.js';
import {
  compressedFrame,
  jsonFrame,
  LumberjackClient,
  windowFrame,
} from './test-support/lumberjack-client.js';

/*
 * Issue 18, item 4, against the windows_events listener over real TCP on 127.0.0.1: one NDJSON line is
 * one event (a long JSON array stays one, marked); the Lumberjack window is enforced and a compressed
 * frame carries a bounded number of events; connections per source address are capped; half-sent
 * frames are bounded by the process-wide pending-bytes budget. Each refusal is counted by reason.
 */

const record = JSON.parse(
  readFileSync(new URL('../../normalize/src/fixtures/windows/nxlog-4624.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

afterEach(closeAll);

const closed = (socket: Socket) =>
  new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())));

describe('windows_events: one input, a bounded number of rows', () => {
  it("the issue's NDJSON line of 7,400 records stays one event, marked too_many_records and counted", async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, {
      max_message_bytes: 16 * 1024 * 1024,
      max_frame_bytes: 16 * 1024 * 1024,
    });
    const socket = await tcp(port);
    socket.write(`${JSON.stringify([record, record])}\n${JSON.stringify(Array(7400).fill(record))}\n`);
    await intake.waitFor(2);
    const [short, long] = intake.events();
    expect(short!.parseError).toBeNull();
    expect(normalizeAll(short!)).toHaveLength(2); // within max_array_events: a row per element
    expect(long!.parseError).toBe('too_many_records');
    expect(JSON.parse(long!.payload.toString())).toHaveLength(7400); // kept whole
    expect(intake.records).toHaveLength(2);
    await until(() => s.status().counters.parse_errors === 1, 5000, 'parse error counted');
  });

  it('more events than the window announced close the connection, counted; what the window held is ACKed', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake);
    const c = await LumberjackClient.tcp(port);
    c.write(
      Buffer.concat([
        windowFrame(2),
        compressedFrame([1, 2, 3].map((i) => jsonFrame(i, JSON.stringify(record)))),
      ]),
    );
    await c.whenClosed();
    await until(() => s.status().counters.closed_window_exceeded === 1, 5000, 'window_exceeded');
    expect(intake.records).toHaveLength(2);
    expect(c.acks.map((a) => a.seq)).toContain(2);
  });

  it("a compressed frame of tiny frames (the issue's 364,722 events from 48.9 KB) stops at the cap", async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { lumberjack: { max_events_per_compressed_frame: 4096 } });
    const tiny = Buffer.concat(Array(4000).fill(jsonFrame(1, '{}')));
    const frame = compressedFrame(Array.from({ length: 90 }, () => [windowFrame(4000), tiny]).flat(), 9);
    expect(frame.length).toBeLessThan(64 * 1024);
    const c = await LumberjackClient.tcp(port);
    c.write(frame);
    await c.whenClosed();
    await until(() => s.status().counters.closed_compressed_too_many_events === 1, 5000, 'capped');
    expect(intake.records.length).toBeLessThanOrEqual(4096);
  });
});

describe('windows_events: connections and memory are bounded', () => {
  it('connections per source address beyond max_connections_per_address are refused, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_connections_per_address: 2 });
    const a = await tcp(port);
    await tcp(port);
    const third = await tcp(port);
    await closed(third);
    await until(() => s.status().counters.closed_address_limit === 1, 5000, 'address_limit');
    // the refused one takes no slot: when one closes, a new one is admitted
    a.destroy();
    await until(() => s.status().counters.active_connections === 1, 5000, 'one closed');
    const again = await tcp(port);
    again.write(`${JSON.stringify(record)}\n`);
    await intake.waitFor(1);
    expect(s.status().counters.closed_address_limit).toBe(1);
  });

  it('half-sent frames beyond the process-wide budget close the connections holding the most, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { max_pending_bytes: 1024 * 1024, protocol: 'lumberjack' });
    expect(pendingBytesBudget.capacity).toBe(1024 * 1024);
    // each connection announces a 4 MiB JSON frame and sends 400 KB of it, then waits
    const header = Buffer.concat([
      windowFrame(1),
      Buffer.from('2J'),
      Buffer.from([0, 0, 0, 1, 0, 0x40, 0, 0]),
    ]);
    const conns: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await tcp(port);
      c.write(Buffer.concat([header, Buffer.alloc(400 * 1024, 0x61)]));
      conns.push(c);
      await new Promise((r) => setTimeout(r, 100));
    }
    await until(() => (s.status().counters.closed_memory_budget ?? 0) >= 2, 5000, 'memory_budget');
    expect(pendingBytesBudget.used).toBeLessThanOrEqual(pendingBytesBudget.capacity);
    // a well-behaved sender still gets through
    const ok = await LumberjackClient.tcp(port);
    expect(await ok.send([JSON.stringify(record)], true)).toBe(1);
    ok.close();
  });
});
