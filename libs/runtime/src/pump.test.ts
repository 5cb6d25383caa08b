import { errorReason, NotConnectedError, SiemError } from '@siem/core';
import { CapturingLogger } from '@siem/core/testing';
import { silentLogger } from '@siem/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { Pump, type PumpOptions } from './pump.js';
import {
  FakeLeaseSource,
  FakeSink,
  records,
  pumpSeries as S,
  type SinkBehaviour,
  seriesOf,
  settle,
  sumOf,
  uniqueName,
  until,
} from './testing/doubles.js';

// The buffer and the sink are doubles of our own contracts (LeaseSource, Sink), see testing/doubles.ts:
// they let each test decide when and how every delivery settles.

const started: Pump[] = [];

afterEach(async () => {
  for (const pump of started.splice(0)) await pump.stop(0);
});

function setup(
  options: Partial<PumpOptions>,
  initial = records(0, 0),
  behaviour?: SinkBehaviour,
): { source: FakeLeaseSource; sink: FakeSink; pump: Pump; name: string } {
  const name = uniqueName('pump');
  const source = new FakeLeaseSource(initial);
  const sink = new FakeSink(name, behaviour);
  const pump = new Pump(source, sink, {
    maxBatch: 2,
    maxInFlight: 1,
    backoffMs: 1,
    maxBackoffMs: 2,
    logger: silentLogger,
    ...options,
  });
  started.push(pump);
  return { source, sink, pump, name };
}

const trace = (source: FakeLeaseSource) => source.events.map((e) => `${e.op} ${e.seqs.join(',')}`);
const total = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('Pump: delivery and acknowledgement', () => {
  it('hands leases to the sink in buffer order and acks each only after the sink resolved', async () => {
    const { source, sink, pump, name } = setup({ maxBatch: 3, maxInFlight: 1 }, records(0, 7));
    pump.start();
    for (let i = 0; i < 3; i++) {
      await sink.waitForCalls(i + 1);
      await settle();
      expect(source.count('ack'), 'no ack before the sink resolved').toBe(i);
      expect(source.outstanding).toBe(1);
      sink.calls[i]!.resolve();
    }
    await until(() => source.acked.length === 7, 'every record acked');
    expect(sink.calls.map((c) => c.seqs)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(trace(source)).toEqual([
      'lease 0,1,2',
      'ack 0,1,2',
      'lease 3,4,5',
      'ack 3,4,5',
      'lease 6',
      'ack 6',
    ]);
    expect(source.violations).toEqual([]);

    const m = await seriesOf(name);
    expect(m[S.batches('delivered')]).toBe(3);
    expect(m[S.records('delivered')]).toBe(7);
    expect(m[S.batches('requeued')] ?? 0).toBe(0);
    expect(m[S.batches('dropped')] ?? 0).toBe(0);
    expect(m[S.inFlight]).toBe(0);
  });

  it('keeps at most maxInFlight leases at the sink; acks follow completion, not lease order', async () => {
    const { source, sink, pump, name } = setup({ maxBatch: 2, maxInFlight: 3 }, records(0, 12));
    pump.start();
    await sink.waitForCalls(3);
    await settle(5);
    expect(sink.calls).toHaveLength(3);
    expect(pump.inFlight).toBe(3);
    expect(source.outstanding).toBe(3);
    expect((await seriesOf(name))[S.inFlight]).toBe(3);

    sink.calls[1]!.resolve(); // the second lease finishes first: its slot takes the fourth lease
    await sink.waitForCalls(4);
    await settle();
    expect(sink.calls).toHaveLength(4);
    expect(source.acked).toEqual([2, 3]);

    sink.behaviour = () => 'resolve';
    for (const call of sink.pending) call.resolve();
    await until(() => source.acked.length === 12, 'every record acked');
    expect(sink.maxPending).toBe(3);
    expect(sink.delivered.toSorted((a, b) => a - b)).toEqual(records(0, 12).map((_, i) => i));
    expect(source.violations).toEqual([]);
    const m = await seriesOf(name);
    expect(m[S.batches('delivered')]).toBe(6);
    expect(m[S.records('delivered')]).toBe(12);
    expect(m[S.inFlight]).toBe(0);
  });

  it('a retriable failure hands the lease back; it is sent again ahead of newer data and delivered once', async () => {
    const lines: CapturingLogger['lines'] = [];
    const { source, sink, pump, name } = setup(
      { maxBatch: 2, logger: new CapturingLogger(lines) },
      records(0, 6),
      (_call, i) => (i === 1 ? new NotConnectedError('fake service') : 'resolve'),
    );
    pump.start();
    await until(() => source.acked.length === 6, 'every record acked');
    expect(sink.calls.map((c) => c.seqs)).toEqual([
      [0, 1],
      [2, 3],
      [2, 3],
      [4, 5],
    ]);
    expect(trace(source)).toEqual([
      'lease 0,1',
      'ack 0,1',
      'lease 2,3',
      'nack 2,3',
      'lease 2,3',
      'ack 2,3',
      'lease 4,5',
      'ack 4,5',
    ]);
    expect(sink.delivered).toEqual([0, 1, 2, 3, 4, 5]);
    expect(lines.some((l) => l.level === 'warn' && l.msg.includes('handed back'))).toBe(true);

    const m = await seriesOf(name);
    expect(m[S.retries('SIEM_ERR_NOT_CONNECTED')]).toBe(1);
    expect(m[S.batches('requeued')]).toBe(1);
    expect(m[S.records('requeued')]).toBe(2);
    expect(m[S.batches('delivered')]).toBe(3);
    expect(m[S.records('delivered')]).toBe(6);
    expect(m[S.batches('dropped')] ?? 0).toBe(0);
    expect(m[S.discarded('SIEM_ERR_NOT_CONNECTED')] ?? 0, 'a retry is not a discard').toBe(0);
  });

  it.each([
    ['a SiemError that is not retriable', new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'too large')],
    ['an error without a code (a bug in the sink)', new TypeError('boom')],
  ])('%s acks the lease as dropped, logs an error and does not back off', async (_what, error) => {
    const lines: CapturingLogger['lines'] = [];
    const { source, sink, pump, name } = setup(
      // A back-off this long would time the test out: a permanent failure must not wait.
      { maxBatch: 2, backoffMs: 60_000, maxBackoffMs: 60_000, logger: new CapturingLogger(lines) },
      records(0, 6),
      (_call, i) => (i === 0 ? error : 'resolve'),
    );
    pump.start();
    await until(() => source.acked.length === 6, 'every record acked');
    expect(sink.calls.map((c) => c.seqs)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(source.count('nack')).toBe(0);
    expect(sink.delivered).toEqual([2, 3, 4, 5]);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      'delivery failed permanently; batch dropped',
    ]);
    const m = await seriesOf(name);
    expect(m[S.batches('dropped')]).toBe(1);
    expect(m[S.records('dropped')]).toBe(2);
    expect(m[S.discarded(errorReason(error))]).toBe(2);
    expect(m[S.records('delivered')]).toBe(4);
    expect(m[S.batches('requeued')] ?? 0).toBe(0);
    expect(Object.keys(m).filter((k) => k.startsWith(S.retries('')))).toEqual([]);
  });
});

describe('Pump: back-off', () => {
  // Lower bounds only: a timer never fires early, but a busy machine may fire it late.
  const SLACK_MS = 3;

  // One slot and more data: the loop waits for the slot when the delivery fails. Two slots and one
  // lease of data: it waits in next(). Either way the nack hands the lease straight back to it.
  it.each([
    ['for a free slot', 1, 2],
    ['on the buffer', 2, 1],
  ])(
    'waits backoffMs before sending a lease again when it was waiting %s',
    async (_what, maxInFlight, count) => {
      const { sink, pump } = setup(
        { maxBatch: 1, maxInFlight, backoffMs: 150, maxBackoffMs: 150 },
        records(0, count),
        (_call, i) => (i === 0 ? new NotConnectedError('fake service') : 'resolve'),
      );
      pump.start();
      await sink.waitForCalls(2);
      expect(sink.calls[1]!.seqs).toEqual([0]);
      expect(sink.calls[1]!.at - sink.calls[0]!.at).toBeGreaterThanOrEqual(150 - SLACK_MS);
    },
  );

  it('doubles the wait after each consecutive failure, up to maxBackoffMs', async () => {
    const { source, sink, pump, name } = setup(
      { maxBatch: 1, maxInFlight: 1, backoffMs: 20, maxBackoffMs: 80 },
      records(0, 1),
      (_call, i) => (i < 4 ? new SiemError('SIEM_ERR_TIMEOUT', 'fake timeout') : 'resolve'),
    );
    pump.start();
    await until(() => source.acked.length === 1, 'the record acked');
    const gaps = sink.calls.slice(1).map((c, i) => c.at - sink.calls[i]!.at);
    expect(gaps).toHaveLength(4);
    [20, 40, 80, 80].forEach((least, i) => {
      expect(gaps[i], `wait before attempt ${i + 2}`).toBeGreaterThanOrEqual(least - SLACK_MS);
    });
    const m = await seriesOf(name);
    expect(m[S.retries('SIEM_ERR_TIMEOUT')]).toBe(4);
    expect(m[S.records('requeued')]).toBe(4);
    expect(m[S.records('delivered')]).toBe(1);
  });
});

describe('Pump: stop', () => {
  it('waits for leases that finish within the deadline, acks them and takes no new one', async () => {
    const { source, sink, pump } = setup({ maxBatch: 2, maxInFlight: 2 }, records(0, 6));
    pump.start();
    await sink.waitForCalls(2);
    const stopping = pump.stop(5_000);
    await settle();
    for (const call of sink.pending) call.resolve();
    expect(await stopping).toBe(0);
    expect(source.acked).toEqual([0, 1, 2, 3]);
    expect(source.outstanding).toBe(0);
    expect(source.remaining).toEqual([4, 5]);
    expect(sink.calls).toHaveLength(2);
  });

  it('hands back what is still in flight at its deadline and resolves by then', async () => {
    const { source, sink, pump, name } = setup({ maxBatch: 2, maxInFlight: 2 }, records(0, 6));
    pump.start();
    await sink.waitForCalls(2);
    const t0 = performance.now();
    const handedBack = await pump.stop(50);
    const took = performance.now() - t0;
    expect(handedBack).toBe(2);
    expect(took).toBeGreaterThanOrEqual(50 - 3);
    expect(took, 'stop returns once its deadline passed').toBeLessThan(50 + 2_000);
    expect(source.count('nack')).toBe(2);
    expect(source.outstanding).toBe(0);
    expect(source.remaining).toEqual([0, 1, 2, 3, 4, 5]);

    // The sink finishing (or failing) afterwards must not settle a lease the buffer owns again.
    sink.calls[0]!.resolve();
    sink.calls[1]!.reject(new NotConnectedError('fake service'));
    await settle();
    expect(source.violations).toEqual([]);
    expect(source.count('ack')).toBe(0);
    expect(source.count('nack')).toBe(2);
    expect(pump.inFlight).toBe(0);
    const m = await seriesOf(name);
    expect(m[S.batches('delivered')] ?? 0).toBe(0);
    expect(m[S.batches('requeued')] ?? 0).toBe(0);
    expect(sumOf(m, S.discardedAny), 'handed back is not discarded').toBe(0);
    expect(m[S.inFlight]).toBe(0);
  });

  it('aborts the next() it waits on, so nothing is taken after stop', async () => {
    const { source, sink, pump } = setup({ maxInFlight: 2 });
    pump.start();
    await until(() => source.signals.length === 1, 'the pump asks for a lease');
    expect(await pump.stop(1_000)).toBe(0);
    expect(source.signals[0]?.aborted).toBe(true);
    source.push(...records(0, 4));
    await settle();
    expect(source.count('lease')).toBe(0);
    expect(source.remaining).toEqual([0, 1, 2, 3]);
    expect(sink.calls).toHaveLength(0);
  });

  it('does not wait for a back-off in progress', async () => {
    const { source, sink, pump } = setup(
      { maxBatch: 2, maxInFlight: 1, backoffMs: 60_000, maxBackoffMs: 60_000 },
      records(0, 4),
      () => new NotConnectedError('fake service'),
    );
    pump.start();
    await sink.waitForCalls(1);
    await until(() => source.count('nack') === 1, 'the failed lease handed back');
    await until(() => source.outstanding === 1, 'the lease taken again, waiting out the back-off');
    const t0 = performance.now();
    expect(await pump.stop(1_000), 'the lease held during the back-off is handed back').toBe(1);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(sink.calls).toHaveLength(1);
    expect(source.outstanding).toBe(0);
    expect(source.remaining).toEqual([0, 1, 2, 3]);
  });

  it('returns while the pump waits for a free slot, handing back the lease in flight', async () => {
    const { source, sink, pump } = setup({ maxBatch: 1, maxInFlight: 1 }, records(0, 3));
    pump.start();
    await sink.waitForCalls(1);
    await settle();
    expect(await pump.stop(20)).toBe(1);
    expect(source.count('lease')).toBe(1);
    expect(source.remaining).toEqual([0, 1, 2]);
  });
});

describe('Pump: the end of the buffer and source failures', () => {
  it('stops taking leases once the buffer is closed; leases in flight still settle', async () => {
    const { source, sink, pump, name } = setup({ maxBatch: 1, maxInFlight: 3 }, records(0, 2));
    pump.start();
    await sink.waitForCalls(2);
    source.close();
    await settle();
    source.push(...records(2, 2));
    await settle();
    expect(sink.calls).toHaveLength(2);
    for (const call of sink.pending) call.resolve();
    await until(() => source.acked.length === 2, 'both leases acked');
    expect(await pump.stop(0)).toBe(0);
    expect((await seriesOf(name))[S.records('delivered')]).toBe(2);
  });

  it('a source that fails (not by abort) stops the loop and says so', async () => {
    const lines: CapturingLogger['lines'] = [];
    class FailingSource extends FakeLeaseSource {
      override next(): Promise<never> {
        return Promise.reject(new Error('disk gone'));
      }
    }
    const name = uniqueName('pump');
    const pump = new Pump(new FailingSource(), new FakeSink(name), {
      maxBatch: 1,
      maxInFlight: 1,
      logger: new CapturingLogger(lines),
    });
    started.push(pump);
    pump.start();
    await until(() => lines.length > 0, 'a log line');
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'pump stopped unexpectedly' });
    expect(await pump.stop(0)).toBe(0);
  });
});

describe('Pump: metrics add up', () => {
  it('every record handed to the sink is counted once per attempt under its outcome', async () => {
    const outcomes: ReturnType<SinkBehaviour>[] = [
      'resolve',
      new NotConnectedError('fake service'),
      new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'too large'),
      'resolve',
      new SiemError('SIEM_ERR_TIMEOUT', 'fake timeout'),
    ];
    const { source, sink, pump, name } = setup({ maxBatch: 3, maxInFlight: 2 }, records(0, 10), (_c, i) =>
      i < outcomes.length ? outcomes[i]! : 'resolve',
    );
    pump.start();
    await until(() => source.acked.length === 10, 'every record acked');
    const sizes = (outcome: 'resolved' | 'rejected') =>
      sink.calls.filter((c) => c.settled === outcome).map((c) => c.seqs.length);
    const m = await seriesOf(name);
    const attempts = total(sink.calls.map((c) => c.seqs.length));
    expect(m[S.records('delivered')]! + m[S.records('requeued')]! + m[S.records('dropped')]!).toBe(attempts);
    expect(m[S.records('delivered')]).toBe(total(sizes('resolved')));
    expect(m[S.records('delivered')]! + m[S.records('dropped')]!).toBe(10);
    expect(m[S.batches('delivered')]! + m[S.batches('requeued')]! + m[S.batches('dropped')]!).toBe(
      sink.calls.length,
    );
    expect(m[S.retries('SIEM_ERR_NOT_CONNECTED')]).toBe(1);
    expect(m[S.retries('SIEM_ERR_TIMEOUT')]).toBe(1);
  });
});
