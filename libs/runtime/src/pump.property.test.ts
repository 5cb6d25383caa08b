import { setTimeout as sleep } from 'node:timers/promises';
import { NotConnectedError, SiemError } from '@siem/core';
import { silentLogger } from '@siem/observability';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerSink } from './circuit.js';
import { Pump } from './pump.js';
import {
  FakeLeaseSource,
  FakeSink,
  records,
  pumpSeries as S,
  type SinkCall,
  seriesOf,
  settle,
  uniqueName,
  until,
} from './testing/doubles.js';

// Random failure sequences against the pump, with doubles of our own LeaseSource and Sink contracts
// (testing/doubles.ts): whatever the sink does, every record ends up acked exactly once (delivered or
// dropped on purpose) or back in the buffer — never lost, never acked twice.

type Outcome = 'ok' | 'retry' | 'drop' | 'hang';

const scenario = fc.record({
  count: fc.integer({ min: 1, max: 30 }),
  maxBatch: fc.integer({ min: 1, max: 5 }),
  maxInFlight: fc.integer({ min: 1, max: 4 }),
  /** What the sink does with its n-th call (calls past the end succeed, so every run ends). */
  outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'ok', 'retry', 'drop'), { maxLength: 25 }),
  /** How many event-loop turns each call takes to settle. */
  delays: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 25 }),
});

/** Settles each call after its delay, with its outcome; `hang` leaves it to the end of the test. */
function scripted(outcomes: readonly Outcome[], delays: readonly number[]) {
  const dropped: number[] = [];
  const hung: SinkCall[] = [];
  const behaviour = (call: SinkCall, i: number) => {
    const outcome = outcomes[i] ?? 'ok';
    if (outcome === 'hang') {
      hung.push(call);
      return 'hold' as const;
    }
    void settle(delays[i % Math.max(1, delays.length)] ?? 0).then(() => {
      if (outcome === 'ok') call.resolve();
      else if (outcome === 'retry') call.reject(new NotConnectedError('fake service'));
      else {
        dropped.push(...call.seqs);
        call.reject(new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'too large'));
      }
    });
    return 'hold' as const;
  };
  return { behaviour, dropped, hung };
}

const sorted = (xs: number[]) => xs.toSorted((a, b) => a - b);
const all = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A buffer of `count` records and a sink that answers by the script. */
function fixture(count: number, outcomes: readonly Outcome[], delays: readonly number[]) {
  const name = uniqueName('pump_prop');
  const script = scripted(outcomes, delays);
  return {
    name,
    script,
    source: new FakeLeaseSource(records(0, count)),
    sink: new FakeSink(name, script.behaviour),
  };
}

describe('Pump under random failures', () => {
  it('acks every record exactly once, delivered or dropped; one slot keeps buffer order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ count, maxBatch, maxInFlight, outcomes, delays }) => {
        const { name, script, source, sink } = fixture(count, outcomes, delays);
        // No back-off (0 never doubles): the sequences, not the waits, are under test.
        const pump = new Pump(source, sink, { maxBatch, maxInFlight, backoffMs: 0, logger: silentLogger });
        pump.start();
        await until(() => source.acked.length >= count && pump.inFlight === 0, 'every record acked');
        expect(await pump.stop(0)).toBe(0);

        expect(source.violations).toEqual([]);
        expect(sorted(source.acked), 'each record acked exactly once').toEqual(all(count));
        expect(sorted([...sink.delivered, ...script.dropped]), 'delivered and dropped partition').toEqual(
          all(count),
        );
        expect(sink.maxPending).toBeLessThanOrEqual(maxInFlight);
        if (maxInFlight === 1) expect(sink.delivered).toEqual(sorted(sink.delivered));

        const m = await seriesOf(name);
        const size = (o: SinkCall['settled']) =>
          sink.calls.filter((c) => c.settled === o).reduce((n, c) => n + c.seqs.length, 0);
        expect(m[S.records('delivered')] ?? 0).toBe(sink.delivered.length);
        expect(m[S.records('dropped')] ?? 0).toBe(script.dropped.length);
        expect(m[S.discarded('SIEM_ERR_KAFKA_RECORD_TOO_LARGE')] ?? 0).toBe(script.dropped.length);
        expect(m[S.records('requeued')] ?? 0).toBe(size('rejected') - script.dropped.length);
        expect(m[S.inFlight]).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('a stop at any point leaves each record acked once or back in the buffer, never both', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario,
        fc.array(fc.constantFrom<Outcome>('ok', 'retry', 'drop', 'hang'), { maxLength: 25 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 5 }),
        async ({ count, maxBatch, maxInFlight, delays }, outcomes, stopAfterCalls, deadlineMs) => {
          const { script, source, sink } = fixture(count, outcomes, delays);
          const pump = new Pump(source, sink, { maxBatch, maxInFlight, backoffMs: 0, logger: silentLogger });
          pump.start();
          // Hung calls may keep the pump from ever making that many: stop a little later then.
          await Promise.race([sink.waitForCalls(stopAfterCalls), sleep(20)]);
          const handedBack = await pump.stop(deadlineMs);
          expect(source.outstanding, 'nothing still leased after stop').toBe(0);
          expect(handedBack).toBeLessThanOrEqual(source.count('nack'));

          // Deliveries finishing after stop must not touch what the buffer owns again.
          for (const call of script.hung) call.resolve();
          await settle(5);
          expect(source.violations).toEqual([]);
          expect(sorted([...source.acked, ...source.remaining]), 'acked or in the buffer, once').toEqual(
            all(count),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('through the circuit breaker, records are neither lost nor delivered twice', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ count, maxBatch, maxInFlight, outcomes, delays }) => {
        const { script, source, sink: inner } = fixture(count, outcomes, delays);
        const sink = new CircuitBreakerSink(inner, { resetTimeoutMs: 1, logger: silentLogger });
        // A back-off of 1 ms lets the circuit's reset timer run while it refuses batches.
        const pump = new Pump(source, sink, {
          maxBatch,
          maxInFlight,
          backoffMs: 1,
          maxBackoffMs: 2,
          logger: silentLogger,
        });
        pump.start();
        try {
          await until(() => source.acked.length >= count && pump.inFlight === 0, 'every record acked');
        } finally {
          await pump.stop(0);
          await sink.close();
        }
        expect(source.violations).toEqual([]);
        expect(sorted(source.acked)).toEqual(all(count));
        expect(sorted(inner.delivered), 'delivered at most once').toEqual(
          sorted(all(count).filter((i) => !script.dropped.includes(i))),
        );
      }),
      { numRuns: 50 },
    );
  });
});
