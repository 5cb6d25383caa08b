import {
  type BufferRecord,
  type HealthStatus,
  isSiemError,
  type NormalizedEvent,
  NotConnectedError,
  RawEventEncoder,
  SiemError,
  type Sink,
} from '@siem/core';
import { silentLogger } from '@siem/observability';
import { encodeSyslogMessage } from '@siem/syslog';
import { describe, expect, it } from 'vitest';
import {
  type DeadLetters,
  NORMALIZER_SINK_REF,
  NormalizingSink,
  type RowPublisher,
} from './normalizing-sink.js';
import { seriesOf, settle } from './testing/doubles.js';

// The writer, the dead letters and the publisher are doubles of our own contracts (Sink, DeadLetters,
// RowPublisher), not of PostgreSQL or Kafka: they refuse a row for good, fail for a while or finish
// out of order when a test says so. The real database is exercised by the storage integration tests.

const encoder = new RawEventEncoder(
  { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '10.0.0.7', peerPort: 40000, tls: null },
  'default',
);

/** A syslog record whose message is `event <i>`. */
function syslogRecord(i: number): BufferRecord {
  const payload = Buffer.from(`<38>1 2026-12-03T10:00:00.000Z host-${i % 3} app - - - event ${i}`);
  const { hostname, value } = encodeSyslogMessage(encoder, payload, Date.UTC(2026, 11, 3, 10));
  return { key: hostname ?? 'none', value };
}

const idOf = (row: NormalizedEvent) => Number(/event (\d+)/.exec(row.message ?? '')?.[1]);

type WriterCall = { rows: NormalizedEvent[]; resolve: () => void; reject: (err: unknown) => void };

/** A writer double: `refuse` decides per call; `hold` leaves calls for the test to settle. */
class FakeWriter implements Sink<NormalizedEvent[]> {
  readonly name = 'fake_writer';
  readonly calls: WriterCall[] = [];
  readonly stored: number[] = [];
  hold = false;
  refuse: (rows: NormalizedEvent[]) => unknown = () => undefined;

  writeBatch(rows: NormalizedEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const call: WriterCall = {
        rows,
        resolve: () => {
          this.stored.push(...rows.map(idOf));
          resolve();
        },
        reject,
      };
      this.calls.push(call);
      const error = this.refuse(rows);
      if (error !== undefined) reject(error);
      else if (!this.hold) call.resolve();
    });
  }
  connect(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  healthcheck(): Promise<HealthStatus> {
    return Promise.resolve({ ok: true });
  }
}

class FakeDeadLetters implements DeadLetters {
  readonly letters: { ids: number[]; reason: string; error: string }[] = [];
  failWith: unknown = undefined;
  async deadLetter(records: readonly BufferRecord[], reason: string, error: string): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.letters.push({ ids: records.map((r) => batchIndex.get(r) ?? -1), reason, error });
  }
}

class FakePublisher implements RowPublisher {
  readonly published: number[][] = [];
  async publish(rows: readonly NormalizedEvent[]): Promise<void> {
    this.published.push(rows.map(idOf));
  }
}

/** Which test record a BufferRecord is (dead letters carry records, not rows). */
const batchIndex = new Map<BufferRecord, number>();
function batch(from: number, count: number): BufferRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const r = syslogRecord(from + k);
    batchIndex.set(r, from + k);
    return r;
  });
}

function setup() {
  const writer = new FakeWriter();
  const deadLetters = new FakeDeadLetters();
  const publisher = new FakePublisher();
  const tail: number[][] = [];
  const sink = new NormalizingSink({
    writer,
    deadLetters,
    publisher,
    onStored: (rows) => tail.push(rows.map(idOf)),
    logger: silentLogger,
  });
  return { writer, deadLetters, publisher, tail, sink };
}

/**
 * What one step added to the normalizer's vocabulary series. Every NormalizingSink is the component
 * `normalizer`, so a test reads differences, not totals.
 */
async function counted(step: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await seriesOf(NORMALIZER_SINK_REF.id);
  await step();
  const after = await seriesOf(NORMALIZER_SINK_REF.id);
  const moved: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    if (key.startsWith('siem_component_') && value !== (before[key] ?? 0))
      moved[key] = value - (before[key] ?? 0);
  }
  return moved;
}

describe('NormalizingSink', () => {
  it('stores a row per record and resolves only after the writer did, then publishes and tails them', async () => {
    const { writer, deadLetters, publisher, tail, sink } = setup();
    writer.hold = true;
    let done = false;
    const writing = sink.writeBatch(batch(0, 4)).then(() => {
      done = true;
    });
    await settle();
    expect(writer.calls).toHaveLength(1);
    expect(done).toBe(false);
    writer.calls[0]!.resolve();
    await writing;
    expect(writer.stored).toEqual([0, 1, 2, 3]);
    expect(publisher.published).toEqual([[0, 1, 2, 3]]);
    expect(tail).toEqual([[0, 1, 2, 3]]);
    expect(deadLetters.letters).toEqual([]);
  });

  it('dead-letters records that are not raw events and stores the rest', async () => {
    const { writer, deadLetters, sink } = setup();
    const records = batch(0, 3);
    const junk = { key: 'x', value: Buffer.from('not a raw event') };
    batchIndex.set(junk, 99);
    await sink.writeBatch([records[0]!, junk, records[1]!, records[2]!]);
    expect(writer.stored).toEqual([0, 1, 2]);
    expect(deadLetters.letters).toMatchObject([{ ids: [99], reason: 'invalid_raw_event' }]);
  });

  it('finds a row the database refuses for good by halving the batch, and dead-letters only its record', async () => {
    const { writer, deadLetters, publisher, sink } = setup();
    const refusal = Object.assign(new Error('invalid byte sequence'), { code: '22021' });
    writer.refuse = (rows) => (rows.some((r) => idOf(r) === 5) ? refusal : undefined);
    const moved = await counted(() => sink.writeBatch(batch(0, 8)));
    expect(writer.stored.toSorted((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(deadLetters.letters).toEqual([
      { ids: [5], reason: 'store_rejected', error: 'SYS_22021: invalid byte sequence' },
    ]);
    expect(publisher.published).toEqual([[0, 1, 2, 3, 4, 6, 7]]);
    // Only the halves on the refused row's path are split again: at most two calls per level.
    expect(writer.calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(8)));
    expect(moved).toEqual({
      siem_component_received_events_total: 8,
      siem_component_received_bytes_total: expect.any(Number),
      siem_component_sent_events_total: 7,
      'siem_component_discarded_events_total{intentional="false",reason="store_rejected"}': 1,
      'siem_component_errors_total{error_code="store_rejected",stage="sending"}': 1,
    });
  });

  it('isolates a row that times out however small the statement, stores the rest, dead-letters it', async () => {
    const { writer, deadLetters, publisher, sink } = setup();
    // Row 0 is the worst place for it: the first half tried always holds it.
    const timeout = new SiemError('SIEM_ERR_TIMEOUT', 'database write took longer than 60000 ms');
    writer.refuse = (rows) => (rows.some((r) => idOf(r) === 0) ? timeout : undefined);
    const moved = await counted(() => sink.writeBatch(batch(0, 16)));
    expect(writer.stored.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(deadLetters.letters).toEqual([
      { ids: [0], reason: 'store_timeout', error: 'database write took longer than 60000 ms' },
    ]);
    expect(publisher.published.flat().toSorted((a, b) => a - b)).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    expect(moved).toMatchObject({
      'siem_component_discarded_events_total{intentional="false",reason="store_timeout"}': 1,
    });
  });

  it('a statement cancelled by the server (57014) is isolated the same way', async () => {
    const { writer, deadLetters, sink } = setup();
    const cancelled = new SiemError('SIEM_ERR_DB_WRITE', 'canceling statement due to statement timeout', {
      details: { sqlstate: '57014' },
    });
    writer.refuse = (rows) => (rows.some((r) => idOf(r) === 6) ? cancelled : undefined);
    await sink.writeBatch(batch(0, 8));
    expect(writer.stored.toSorted((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 7]);
    expect(deadLetters.letters).toMatchObject([{ ids: [6], reason: 'store_timeout' }]);
  });

  it('when everything times out it is the database: the batch fails whole, nothing dead-lettered', async () => {
    const { writer, deadLetters, sink } = setup();
    writer.refuse = () => new SiemError('SIEM_ERR_TIMEOUT', 'slow database');
    const err = await sink.writeBatch(batch(0, 64)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSiemError(err, 'SIEM_ERR_TIMEOUT')).toBe(true);
    expect(deadLetters.letters).toEqual([]);
    expect(writer.stored).toEqual([]);
    // gives up after two descents to one row: bounded, not one attempt per row
    expect(writer.calls.length).toBeLessThanOrEqual(1 + 2 * (Math.log2(64) + 1));
  });

  it('a retriable storage failure rejects the batch with it: nothing dead-lettered, published or tailed', async () => {
    const { writer, deadLetters, publisher, tail, sink } = setup();
    writer.refuse = () => new NotConnectedError('fake database');
    let err: unknown;
    const moved = await counted(async () => {
      err = await sink.writeBatch(batch(0, 4)).then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    expect(isSiemError(err, 'SIEM_ERR_NOT_CONNECTED')).toBe(true);
    expect(writer.calls, 'no halving on a retriable error').toHaveLength(1);
    expect(deadLetters.letters).toEqual([]);
    expect(publisher.published).toEqual([]);
    expect(tail).toEqual([]);
    // Received on every attempt (the retry is received again); nothing sent or discarded.
    expect(moved).toEqual({
      siem_component_received_events_total: 4,
      siem_component_received_bytes_total: expect.any(Number),
    });
  });

  it('a dead-letter failure rejects the batch so the caller retries it whole', async () => {
    const { deadLetters, sink } = setup();
    deadLetters.failWith = new NotConnectedError('fake dead-letter topic');
    const junk = { key: 'x', value: Buffer.from('not a raw event') };
    const err = await sink.writeBatch([...batch(0, 2), junk]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSiemError(err, 'SIEM_ERR_NOT_CONNECTED')).toBe(true);
  });

  it('publishes and tails batches in the order they came, even when a later one is stored first', async () => {
    const { writer, publisher, tail, sink } = setup();
    writer.hold = true;
    const first = sink.writeBatch(batch(0, 2));
    const second = sink.writeBatch(batch(2, 2));
    await settle();
    expect(writer.calls).toHaveLength(2);
    writer.calls[1]!.resolve();
    await settle();
    expect(publisher.published, 'the second batch waits for the first').toEqual([]);
    writer.calls[0]!.resolve();
    await Promise.all([first, second]);
    expect(publisher.published).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(tail).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('a failed batch does not hold up the publication of the next', async () => {
    const { writer, publisher, sink } = setup();
    writer.hold = true;
    const first = sink.writeBatch(batch(0, 2));
    const second = sink.writeBatch(batch(2, 2));
    await settle();
    writer.calls[0]!.reject(new NotConnectedError('fake database'));
    writer.calls[1]!.resolve();
    await expect(first).rejects.toThrow();
    await second;
    expect(publisher.published).toEqual([[2, 3]]);
  });
});
