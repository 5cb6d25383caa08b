import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BufferRecord, OfferResult } from '@siem/core';
import { metricsRegistry } from '@siem/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBuffer, type EventBufferOptions } from './event-buffer.js';
import { FRAME_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './format.js';
import { inspectBufferDir, purgeBufferDir } from './inspect.js';
import { drainAll, idOf, makeRecords, removeTempDirs, tempDir, testOptions } from './testing/helpers.js';

const open: EventBuffer[] = [];

async function start(dir: string, overrides: Partial<EventBufferOptions> = {}): Promise<EventBuffer> {
  const b = new EventBuffer(testOptions(dir, overrides), { name: `test-${open.length}` });
  await b.open();
  open.push(b);
  return b;
}

afterEach(async () => {
  for (const b of open.splice(0)) if (b.state === 'open') await b.close();
  removeTempDirs();
});

const segFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sbuf'))
    .sort();
const dirBytes = (dir: string) => segFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
const ids = (records: readonly BufferRecord[]) => records.map(idOf);
const range = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

/** Everything on disk, no memory tier: every accepted batch is written. */
const DISK_ONLY = { max_events: 1 } as const;

describe('EventBuffer: order and delivery', () => {
  it('keeps FIFO order across memory and disk runs and hands every event out once', async () => {
    const dir = tempDir();
    const b = await start(dir, { max_events: 100, frame_max_bytes: 2048, segment_max_bytes: 8192 });
    for (let i = 0; i < 40; i++) expect(b.offer(makeRecords('e', i * 10, 10))).toBe('ok');
    const s = b.stats();
    expect(s.acceptedMemoryEvents).toBe(80);
    expect(s.acceptedDiskEvents).toBe(320);
    expect(ids(await drainAll(b, 37))).toEqual(range('e', 0, 400));
    expect(b.stats()).toMatchObject({ memoryEvents: 0, outstandingLeases: 0, ackedEvents: 400 });
  });

  it('spills above the high watermark and returns to memory only at the low watermark', async () => {
    const dir = tempDir();
    const b = await start(dir, { max_events: 100, high_watermark: 0.8, low_watermark: 0.6 });
    b.offer(makeRecords('a', 0, 80)); // 80 %: memory
    b.offer(makeRecords('a', 80, 10)); // would pass 80 %: disk
    expect(b.stats()).toMatchObject({ acceptedMemoryEvents: 80, acceptedDiskEvents: 10, spilling: true });
    const first = (await b.next(15))!;
    b.ack(first); // 65 % held in memory
    b.offer(makeRecords('a', 90, 5));
    expect(b.stats().acceptedDiskEvents).toBe(15); // still above the low watermark: disk
    const second = (await b.next(10))!;
    b.ack(second); // 55 %
    b.offer(makeRecords('a', 95, 5));
    expect(b.stats()).toMatchObject({ acceptedMemoryEvents: 85, spilling: false });
    const rest = await drainAll(b, 7);
    expect([...ids(first.records), ...ids(second.records), ...ids(rest)]).toEqual(range('a', 0, 100));
  });

  it('re-queues nacked leases ahead of newer data, in their original order', async () => {
    const dir = tempDir();
    const b = await start(dir, { max_events: 20, frame_max_bytes: 1024 });
    b.offer(makeRecords('n', 0, 40)); // 16 in memory? no: one batch over the watermark goes to disk
    b.offer(makeRecords('n', 40, 10));
    const a = (await b.next(10))!;
    const c = (await b.next(10))!;
    const d = (await b.next(10))!;
    b.ack(c);
    b.nack(d);
    b.nack(a);
    const out = await drainAll(b, 8);
    expect(ids(out)).toEqual([...range('n', 0, 10), ...range('n', 20, 30), ...range('n', 30, 50)]);
    expect(b.stats()).toMatchObject({ nackedEvents: 20, redeliveredAfterNack: 20 });
  });

  it('serves several outstanding leases and treats acks of unknown leases as late', async () => {
    const dir = tempDir();
    const b = await start(dir);
    b.offer(makeRecords('x', 0, 30));
    const l1 = (await b.next(10))!;
    const l2 = (await b.next(10))!;
    expect(b.stats().outstandingLeases).toBe(2);
    b.ack(l2);
    b.ack(l1);
    b.ack(l1);
    expect(b.stats()).toMatchObject({ outstandingLeases: 0, lateAcks: 1, ackedEvents: 20 });
  });

  it('waits for data, honours an abort signal without losing what comes next, and ends with null', async () => {
    const dir = tempDir();
    const b = await start(dir);
    const ac = new AbortController();
    const waiting = b.next(10, ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    const later = b.next(10);
    b.offer(makeRecords('w', 0, 3));
    const lease = (await later)!;
    expect(ids(lease.records)).toEqual(range('w', 0, 3));
    b.ack(lease);
    const pending = b.next(10);
    await b.close();
    expect(await pending).toBeNull();
    expect(await b.next(10)).toBeNull();
    expect(b.offer(makeRecords('w', 3, 1))).toBe('rejected');
    expect(b.rejectReason).toBe('closed');
  });
});

describe('EventBuffer: lifecycle', () => {
  it('fails to open an unusable directory with a clear error, and closes cleanly after', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const b = new EventBuffer(testOptions(join(file, 'buffer')));
    await expect(b.open()).rejects.toMatchObject({ code: 'SIEM_ERR_BUFFER_IO' });
    await b.close();
    expect(b.state).toBe('closed');
  });

  it('serves a consumer that asked before open, and rejects a second open', async () => {
    const dir = tempDir();
    const b = new EventBuffer(testOptions(dir), { name: 'early' });
    const early = b.next(5);
    await b.open();
    open.push(b);
    b.offer(makeRecords('o', 0, 3));
    const lease = (await early)!;
    expect(ids(lease.records)).toEqual(range('o', 0, 3));
    b.ack(lease);
    await expect(b.open()).rejects.toMatchObject({ code: 'SIEM_ERR_BUFFER_CLOSED' });
  });

  it('rejects watermarks that cross', () => {
    expect(
      () => new EventBuffer(testOptions(tempDir(), { low_watermark: 0.9, high_watermark: 0.8 })),
    ).toThrow(/low_watermark/);
  });
});

describe('EventBuffer: restarts', () => {
  it('restarts gracefully with no loss and no duplicate: memory, disk, nacked and unacked leases', async () => {
    const dir = tempDir();
    const opts = { max_events: 100, frame_max_bytes: 1024, segment_max_bytes: 4096, close_drain_ms: 0 };
    const b = await start(dir, opts);
    for (let i = 0; i < 30; i++) b.offer(makeRecords('r', i * 10, 10));
    const acked = (await b.next(30))!;
    b.ack(acked);
    const nacked = (await b.next(10))!;
    b.nack(nacked);
    const again = (await b.next(5))!; // part of the nacked lease, handed out again and never settled
    const fromDisk: BufferRecord[] = [];
    for (;;) {
      const l = (await b.next(40))!;
      fromDisk.push(...l.records);
      if (idOf(l.records.at(-1)!) >= 'r-150') {
        b.ack(l);
        break;
      }
      b.ack(l);
    }
    const unsettled = (await b.next(10))!;
    b.offer(makeRecords('r', 300, 20)); // more after everything else
    await b.close();
    b.ack(unsettled); // too late: the buffer took it back at close
    expect(b.stats().lateAcks).toBe(1);
    expect(b.stats().shutdownSpilledEvents).toBeGreaterThan(0);

    const b2 = await start(dir, opts);
    const replayed = ids(await drainAll(b2, 25));
    const delivered = new Set([...ids(acked.records), ...ids(fromDisk)]);
    const expected = range('r', 0, 320).filter((id) => !delivered.has(id));
    expect(replayed).toEqual(expected); // exactly the rest, in the original order
    expect(ids(again.records)).toEqual(range('r', 30, 35));
    expect(b2.stats().redeliveredAfterCrash).toBe(0);
    await b2.close();
    expect(segFiles(dir)).toEqual([]);
  });

  it('resumes a partly acknowledged frame at the right events', async () => {
    const dir = tempDir();
    const b = await start(dir, { ...DISK_ONLY, close_drain_ms: 0 });
    b.offer(makeRecords('p', 0, 100)); // one frame
    await b.flush();
    const l1 = (await b.next(10))!;
    const l2 = (await b.next(10))!;
    const l3 = (await b.next(10))!;
    b.ack(l1);
    b.ack(l3);
    b.nack(l2);
    await b.close();
    const b2 = await start(dir, DISK_ONLY);
    expect(ids(await drainAll(b2, 100))).toEqual([...range('p', 10, 20), ...range('p', 30, 100)]);
  });

  it('deletes a segment once every event in it is acknowledged', async () => {
    const dir = tempDir();
    const b = await start(dir, { ...DISK_ONLY, frame_max_bytes: 1024, segment_max_bytes: 4096 });
    for (let i = 0; i < 20; i++) b.offer(makeRecords('d', i * 20, 20, 100, 4, true));
    await b.flush();
    expect(segFiles(dir).length).toBeGreaterThan(3);
    const lease = (await b.next(1000))!;
    expect(lease.records.length).toBeGreaterThan(0);
    const filesWhileUnacked = segFiles(dir).length;
    b.ack(lease);
    await drainAll(b, 1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(segFiles(dir).length).toBeLessThan(filesWhileUnacked);
    expect(segFiles(dir).length).toBeLessThanOrEqual(1); // at most the segment still being written
    expect(b.stats().diskBytes).toBe(dirBytes(dir));
  });

  it('counts events delivered before a crash whose ack was never recorded, and delivers them again', async () => {
    const dir = tempDir();
    const b = await start(dir, DISK_ONLY);
    b.offer(makeRecords('c', 0, 50));
    await b.flush();
    b.ack((await b.next(20))!);
    const inFlight = (await b.next(15))!; // handed to the sink, then the process dies
    await new Promise((r) => setTimeout(r, 20)); // let the ack entry reach the journal
    await b.abandon();
    expect(inFlight.records.length).toBe(15);

    const b2 = await start(dir, DISK_ONLY);
    expect(b2.stats().redeliveredAfterCrash).toBe(15);
    expect(ids(await drainAll(b2))).toEqual(range('c', 20, 50));
  });

  it('loses nothing that was written when killed, and memory is what a crash costs', async () => {
    const dir = tempDir();
    const b = await start(dir, { max_events: 50 });
    b.offer(makeRecords('k', 0, 40)); // memory
    b.offer(makeRecords('k', 40, 60)); // disk
    await b.flush();
    b.offer(makeRecords('k', 100, 10)); // disk, not flushed: may or may not survive
    await b.abandon();
    const b2 = await start(dir, { max_events: 50 });
    const got = ids(await drainAll(b2));
    expect(got.slice(0, 60)).toEqual(range('k', 40, 100));
    expect(got.length === 60 || got.length === 70).toBe(true);
  });

  it('offerDurable: on disk and synced when it resolves, in queue order with memory, kept across a crash', async () => {
    const dir = tempDir();
    const b = await start(dir, { max_events: 1000 });
    b.offer(makeRecords('d', 0, 10)); // memory
    expect(await b.offerDurable(makeRecords('d', 10, 5))).toBe('ok'); // straight to disk, synced
    b.offer(makeRecords('d', 15, 10)); // memory again, after the durable run
    expect(b.stats().spilledEvents).toBe(0); // not an overflow
    await b.abandon(); // kill -9: memory is lost, what offerDurable answered for is not
    const b2 = await start(dir, { max_events: 1000 });
    expect(ids(await drainAll(b2))).toEqual(range('d', 10, 15));
  });

  it('offerDurable refuses what the disk cannot take, so nothing is acknowledged from memory only', async () => {
    const dir = tempDir();
    const b = await start(dir, { max_disk_bytes: 4096 });
    const big = makeRecords('f', 0, 50).map((r) => ({ ...r, value: randomBytes(1024) }));
    expect(await b.offerDurable(big)).toBe('rejected');
    expect(b.rejectReason).toBe('disk_full');
    expect(b.offer(makeRecords('f', 100, 1))).toBe('ok'); // memory intake is unaffected
  });

  it('deletes at start a fully acknowledged segment left by a crash before its deletion', async () => {
    const dir = tempDir();
    const b = await start(dir, { ...DISK_ONLY, segment_max_bytes: 4096, frame_max_bytes: 1024 });
    for (let i = 0; i < 10; i++) b.offer(makeRecords('z', i * 20, 20, 100));
    await b.flush();
    const first = segFiles(dir)[0]!;
    copyFileSync(join(dir, first), join(dir, `${first}.copy`));
    const all = await drainAll(b, 1000);
    expect(all.length).toBe(200);
    await b.close();
    copyFileSync(join(dir, `${first}.copy`), join(dir, first)); // as if the delete never happened
    const b2 = await start(dir, DISK_ONLY);
    expect(segFiles(dir)).not.toContain(first);
    expect(await drainAll(b2)).toEqual([]);
  });

  it('replays everything when the ledger is lost (duplicates, never loss), and starts', async () => {
    const dir = tempDir();
    const b = await start(dir, DISK_ONLY);
    b.offer(makeRecords('l', 0, 30));
    await b.flush();
    b.ack((await b.next(10))!);
    await b.close();
    writeFileSync(join(dir, 'ledger.json'), '{"format": "siem-buffer-ledger", "ver'); // damaged
    const b2 = await start(dir, DISK_ONLY);
    expect(b2.stats().corruptFrames).toBe(1);
    expect(ids(await drainAll(b2))).toEqual(range('l', 0, 30));
    expect(readdirSync(join(dir, 'corrupt')).some((f) => f.startsWith('ledger-'))).toBe(true);
  });
});

describe('EventBuffer: damaged files', () => {
  async function spilled(prefix: string, batches: number): Promise<string> {
    const dir = tempDir();
    const b = await start(dir, { ...DISK_ONLY, frame_max_bytes: 1024, segment_max_bytes: 1 << 20 });
    for (let i = 0; i < batches; i++) b.offer(makeRecords(prefix, i * 10, 10, 80));
    await b.flush();
    await b.abandon();
    return dir;
  }

  it('cuts off a torn last frame, counts it once, and replays everything before it', async () => {
    const dir = await spilled('t', 10);
    const file = join(dir, segFiles(dir)[0]!);
    const whole = statSync(file).size;
    const bytes = readFileSync(file);
    // A half-written copy of the first frame at the end: a write cut short by a crash.
    appendFileSync(file, bytes.subarray(SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + 10));
    const b = await start(dir, DISK_ONLY);
    const got: BufferRecord[] = [];
    for (;;) {
      const lease = await b.next(30, AbortSignal.timeout(150)).catch(() => null);
      if (lease === null) break;
      got.push(...lease.records);
      if (got.length < 100) b.ack(lease); // the last lease stays unacked, so the segment stays
    }
    expect(ids(got)).toEqual(range('t', 0, 100));
    expect(b.stats().corruptFrames).toBe(1);
    await b.abandon();
    expect(statSync(file).size).toBe(whole); // the torn bytes were cut off
    const again = await start(dir, DISK_ONLY);
    expect(again.stats().corruptFrames).toBe(0);
    expect(ids(await drainAll(again))).toEqual(range('t', 90, 100));
  });

  it('moves the rest of a segment damaged in the middle aside, and keeps serving', async () => {
    const dir = await spilled('m', 10);
    const file = join(dir, segFiles(dir)[0]!);
    const bytes = readFileSync(file);
    const firstFrameEnd =
      SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + bytes.readUInt32LE(SEGMENT_HEADER_SIZE + 4);
    bytes[firstFrameEnd + FRAME_HEADER_SIZE + 3]! ^= 0x5a; // second frame's payload
    writeFileSync(file, bytes);
    const b = await start(dir, DISK_ONLY);
    const got = ids(await drainAll(b));
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(range('m', 0, got.length)); // the first frame, intact, in order
    expect(b.stats().corruptFrames).toBe(1);
    expect(readdirSync(join(dir, 'corrupt')).some((f) => f.includes('.bad'))).toBe(true);
    // New data still flows.
    b.offer(makeRecords('m2', 0, 5));
    expect(ids(await drainAll(b))).toEqual(range('m2', 0, 5));
  });

  it('sets a segment with a bad header aside and replays the others', async () => {
    const dir = tempDir();
    const b = await start(dir, { ...DISK_ONLY, segment_max_bytes: 4096, frame_max_bytes: 1024 });
    for (let i = 0; i < 10; i++) b.offer(makeRecords('h', i * 10, 10, 100, 4, true));
    await b.flush();
    await b.abandon();
    const files = segFiles(dir);
    expect(files.length).toBeGreaterThan(1);
    const bytes = readFileSync(join(dir, files[0]!));
    bytes[0] = 0x58;
    writeFileSync(join(dir, files[0]!), bytes);
    writeFileSync(join(dir, 'seg-0000009999.sbuf'), Buffer.alloc(10)); // a file cut at creation
    const b2 = await start(dir, DISK_ONLY);
    const got = ids(await drainAll(b2));
    expect(got.length).toBeGreaterThan(0);
    expect(got.at(-1)).toBe('h-99');
    expect(b2.stats().corruptFrames).toBe(2);
    expect(segFiles(dir)).not.toContain('seg-0000009999.sbuf');
  });

  it('ignores a torn journal tail', async () => {
    const dir = tempDir();
    const b = await start(dir, DISK_ONLY);
    b.offer(makeRecords('j', 0, 20));
    await b.flush();
    b.ack((await b.next(5))!);
    await new Promise((r) => setTimeout(r, 20));
    await b.abandon();
    appendFileSync(join(dir, 'journal.bin'), randomBytes(17));
    const b2 = await start(dir, DISK_ONLY);
    expect(ids(await drainAll(b2))).toEqual(range('j', 5, 20));
    expect(b2.stats().corruptFrames).toBe(1);
  });
});

describe('EventBuffer: disk cap', () => {
  const CAP = 64 * 1024;
  const incompressible = (n: number, from: number): BufferRecord[] =>
    Array.from({ length: n }, (_, i) => ({ key: `h${(from + i) % 3}`, value: randomBytes(500) }));

  async function fill(
    b: EventBuffer,
    stopOn: OfferResult,
  ): Promise<{ results: OfferResult[]; taken: number }> {
    const results: OfferResult[] = [];
    let taken = 0;
    for (let i = 0; i < 400; i++) {
      const r = b.offer(incompressible(5, i * 5));
      results.push(r);
      if (r !== 'rejected') taken += 5;
      if (r === stopOn) break;
    }
    await b.flush();
    return { results, taken };
  }

  it('block: pauses the adapters when memory and the cap are full, never passes the cap, resumes', async () => {
    const dir = tempDir();
    const b = await start(dir, {
      max_events: 100,
      max_disk_bytes: CAP,
      segment_max_bytes: 16 * 1024,
      frame_max_bytes: 4096,
      when_full: 'block',
    });
    let resumed = 0;
    b.onResume(() => resumed++);
    const { results, taken } = await fill(b, 'rejected');
    expect(results).toContain('pause');
    expect(results.at(-1)).toBe('rejected');
    expect(b.rejectReason).toBe('full');
    expect(dirBytes(dir)).toBeLessThanOrEqual(CAP);
    expect(b.stats().memoryEvents).toBe(100); // the band above the high watermark took the rest
    const got = await drainAll(b, 50);
    expect(got.length).toBe(taken); // everything that was taken comes out
    await new Promise((r) => setTimeout(r, 20));
    expect(resumed).toBeGreaterThan(0);
    expect(b.offer(incompressible(5, 0))).toBe('ok');
  });

  it('drop_newest: rejects and counts new batches when full, never pauses, never passes the cap', async () => {
    const dir = tempDir();
    const b = await start(dir, {
      max_events: 100,
      max_disk_bytes: CAP,
      segment_max_bytes: 16 * 1024,
      frame_max_bytes: 4096,
      when_full: 'drop_newest',
    });
    const { results, taken } = await fill(b, 'pause');
    expect(results).not.toContain('pause');
    const rejected = results.filter((r) => r === 'rejected').length;
    expect(rejected).toBeGreaterThan(0);
    expect(b.stats().droppedEvents).toBe(rejected * 5);
    expect(dirBytes(dir)).toBeLessThanOrEqual(CAP);
    expect((await drainAll(b, 50)).length).toBe(taken);
  });
});

describe('metrics', () => {
  it('exports counters and gauges labelled by buffer, read when scraped', async () => {
    const dir = tempDir();
    const b = new EventBuffer(testOptions(dir, { max_events: 10 }), { name: 'metrics-test' });
    await b.open();
    open.push(b);
    b.offer(makeRecords('g', 0, 8));
    b.offer(makeRecords('g', 8, 5)); // over the high watermark: disk
    b.ack((await b.next(3))!);
    const text = await metricsRegistry.metrics();
    const component = 'component_id="metrics-test",component_kind="buffer",component_type="memory_disk"';
    expect(text).toContain(`siem_component_received_events_total{${component}} 13`);
    expect(text).toMatch(/siem_buffer_spilled_events_total\{buffer="metrics-test",reason="overflow"\} 5/);
    expect(text).toContain(`siem_component_sent_events_total{${component}} 3`);
    expect(text).toMatch(/siem_buffer_memory_events\{buffer="metrics-test"\} 5/);
    expect(text).toMatch(/siem_buffer_spilling\{buffer="metrics-test"\} 1/);
  });
});

describe('inspect and purge', () => {
  it('reports segments, events, acks and the oldest event, then purges the directory', async () => {
    const dir = tempDir();
    const b = await start(dir, { ...DISK_ONLY, frame_max_bytes: 1024, segment_max_bytes: 4096 });
    for (let i = 0; i < 10; i++) b.offer(makeRecords('i', i * 10, 10, 100));
    await b.flush();
    b.ack((await b.next(25))!);
    await b.close();
    const report = await inspectBufferDir(dir, Date.now() + 60_000);
    expect(report.exists).toBe(true);
    expect(report.ledger).toMatchObject({ present: true, cleanShutdown: true });
    expect(report.totals.events).toBeGreaterThanOrEqual(75);
    expect(report.totals.unackedEvents).toBe(75);
    expect(report.oldestEventAgeSeconds).toBeGreaterThanOrEqual(59);
    expect(report.segments.every((s) => s.problem === null)).toBe(true);
    const purged = await purgeBufferDir(dir);
    expect(purged.removedFiles.length).toBeGreaterThan(0);
    expect(segFiles(dir)).toEqual([]);
    expect((await inspectBufferDir(dir)).totals.segments).toBe(0);
    expect((await inspectBufferDir(join(dir, 'missing'))).exists).toBe(false);
  });
});
