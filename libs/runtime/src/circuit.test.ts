import { isSiemError, NotConnectedError, SiemError } from '@siem/core';
import { silentLogger } from '@siem/observability';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreakerSink } from './circuit.js';
import {
  circuitSeries as C,
  FakeSink,
  RecoveringFakeSink,
  records,
  seriesOf,
  settle,
  uniqueName,
} from './testing/doubles.js';

// The inner sink is a double of our own Sink contract (testing/doubles.ts): it fails, hangs and
// reports its service gone or back when a test says so, which a real broker does not do on demand.

const RESET_MS = 1_000;
const opened: CircuitBreakerSink<unknown>[] = [];

beforeEach(() => {
  // opossum's reset timer and its stats window are plain timers; settle() needs setImmediate real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
});

afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  vi.useRealTimers();
});

function circuit<S extends FakeSink>(inner: S): CircuitBreakerSink<readonly unknown[]> & { inner: S } {
  const c = new CircuitBreakerSink(inner, { resetTimeoutMs: RESET_MS, logger: silentLogger });
  opened.push(c as CircuitBreakerSink<unknown>);
  return Object.assign(c, { inner }) as CircuitBreakerSink<readonly unknown[]> & { inner: S };
}

const batch = records(0, 2);

/** The error a write ends with (undefined when it resolved). */
async function outcome(p: Promise<void>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** A circuit whose inner sink failed once with a retriable error: open. */
async function openCircuit(inner = new FakeSink(uniqueName('circuit'))) {
  const c = circuit(inner);
  inner.behaviour = () => new NotConnectedError('fake service');
  await outcome(c.writeBatch(batch));
  inner.behaviour = () => 'hold';
  expect(c.state).toBe('open');
  return c;
}

describe('CircuitBreakerSink', () => {
  it('passes batches through while closed', async () => {
    const inner = new FakeSink(uniqueName('circuit'), () => 'resolve');
    const c = circuit(inner);
    await c.writeBatch(batch);
    await c.writeBatch(records(2, 1));
    expect(inner.delivered).toEqual([0, 1, 2]);
    expect(c.state).toBe('closed');
    expect(await c.healthcheck()).toEqual({ ok: true });
    const m = await seriesOf(inner.name);
    expect(m[C.state]).toBe(0);
    expect(m[C.rejected] ?? 0).toBe(0);
  });

  it('a retriable failure opens it; then batches are refused at once, retriably, without reaching the sink', async () => {
    const inner = new FakeSink(uniqueName('circuit'), () => new NotConnectedError('fake service'));
    const c = circuit(inner);
    const first = await outcome(c.writeBatch(batch));
    expect(isSiemError(first, 'SIEM_ERR_NOT_CONNECTED'), 'the sink error passes through unchanged').toBe(
      true,
    );
    expect(c.state).toBe('open');

    for (let i = 0; i < 3; i++) {
      const refused = await outcome(c.writeBatch(batch));
      expect(isSiemError(refused, 'SIEM_ERR_CIRCUIT_OPEN')).toBe(true);
      expect((refused as SiemError).retriable, 'the pump must hand the lease back, not drop it').toBe(true);
    }
    expect(inner.calls).toHaveLength(1);
    expect(await c.healthcheck()).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^circuit open/),
    });

    const m = await seriesOf(inner.name);
    expect(m[C.state]).toBe(2);
    expect(m[C.transitions('open')]).toBe(1);
    expect(m[C.rejected]).toBe(3);
  });

  it('after resetTimeoutMs lets one batch try (half-open), refuses the others meanwhile, and closes when it succeeds', async () => {
    const c = await openCircuit();
    await vi.advanceTimersByTimeAsync(RESET_MS - 1);
    expect(c.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(c.state).toBe('half_open');
    expect((await seriesOf(c.name))[C.state]).toBe(1);

    const trial = c.writeBatch(batch);
    expect(c.inner.calls).toHaveLength(2);
    const other = await outcome(c.writeBatch(records(5, 1)));
    expect(isSiemError(other, 'SIEM_ERR_CIRCUIT_OPEN'), 'only the trial batch reaches the sink').toBe(true);
    expect(c.inner.calls).toHaveLength(2);

    c.inner.calls[1]!.resolve();
    await trial;
    expect(c.state).toBe('closed');
    c.inner.behaviour = () => 'resolve';
    await c.writeBatch(records(5, 1));
    expect(c.inner.delivered).toEqual([0, 1, 5]);

    const m = await seriesOf(c.name);
    expect(m[C.state]).toBe(0);
    expect(m[C.transitions('open')]).toBe(1);
    expect(m[C.transitions('half_open')]).toBe(1);
    expect(m[C.transitions('closed')]).toBe(1);
    expect(m[C.rejected]).toBe(1);
  });

  it('a failed trial opens it again for another resetTimeoutMs', async () => {
    const c = await openCircuit();
    await vi.advanceTimersByTimeAsync(RESET_MS);
    c.inner.behaviour = () => new SiemError('SIEM_ERR_TIMEOUT', 'fake timeout');
    expect(isSiemError(await outcome(c.writeBatch(batch)), 'SIEM_ERR_TIMEOUT')).toBe(true);
    expect(c.state).toBe('open');
    await vi.advanceTimersByTimeAsync(RESET_MS - 1);
    expect(c.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(c.state).toBe('half_open');
    const m = await seriesOf(c.name);
    expect(m[C.transitions('open')]).toBe(2);
    expect(m[C.transitions('half_open')]).toBe(2);
    expect(m[C.transitions('closed')] ?? 0).toBe(0);
  });

  it.each([
    ['a SiemError that is not retriable', new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'too large')],
    ['an error without a code', new TypeError('boom')],
  ])('%s passes through and leaves it closed', async (_what, error) => {
    const inner = new FakeSink(uniqueName('circuit'), () => error);
    const c = circuit(inner);
    for (let i = 0; i < 5; i++) expect(await outcome(c.writeBatch(batch))).toBe(error);
    expect(c.state).toBe('closed');
    expect(inner.calls).toHaveLength(5);
    const m = await seriesOf(inner.name);
    expect(m[C.transitions('open')] ?? 0).toBe(0);
  });

  it('a trial that fails for good closes it: the service answered', async () => {
    const c = await openCircuit();
    await vi.advanceTimersByTimeAsync(RESET_MS);
    const error = new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'too large');
    c.inner.behaviour = () => error;
    expect(await outcome(c.writeBatch(batch))).toBe(error);
    expect(c.state).toBe('closed');
  });

  it('opens when the sink reports its service gone, before any batch failed, and closes as soon as it is back', async () => {
    const inner = new RecoveringFakeSink(uniqueName('circuit'), () => 'resolve');
    const c = circuit(inner);
    inner.setReachable(false);
    await settle();
    expect(c.state).toBe('open');
    expect(isSiemError(await outcome(c.writeBatch(batch)), 'SIEM_ERR_CIRCUIT_OPEN')).toBe(true);
    expect(inner.calls).toHaveLength(0);
    expect(await c.healthcheck()).toEqual({ ok: false, detail: 'circuit open: unreachable' });

    inner.setReachable(true); // no reset timer involved: the timers are fake and have not moved
    await settle();
    expect(c.state).toBe('closed');
    await c.writeBatch(batch);
    expect(inner.delivered).toEqual([0, 1]);

    inner.setReachable(false); // watched again after it came back
    await settle();
    expect(c.state).toBe('open');
    const m = await seriesOf(inner.name);
    expect(m[C.transitions('open')]).toBe(2);
    expect(m[C.transitions('closed')]).toBe(1);
    expect(m[C.transitions('half_open')] ?? 0).toBe(0);
  });

  it('a circuit opened by failures closes when the sink reports its service back, without waiting for the reset', async () => {
    // Like the storage writer: it can say when the database is back, not when it goes away.
    const inner = new RecoveringFakeSink(uniqueName('circuit'), undefined, { reportsLoss: false });
    inner.setReachable(false);
    const c = await openCircuit(inner);
    expect(inner.calls, 'opened by the failed batch').toHaveLength(1);
    await settle();
    expect(c.state).toBe('open');
    inner.setReachable(true);
    await settle();
    expect(c.state).toBe('closed');
  });

  it('close() shuts the breaker and closes the sink; a service lost afterwards does not reopen it', async () => {
    const inner = new RecoveringFakeSink(uniqueName('circuit'), () => 'resolve');
    const c = circuit(inner);
    await c.close();
    expect(inner.closed).toBe(true);
    inner.setReachable(false);
    await settle();
    expect(c.state).toBe('closed');
    expect((await seriesOf(inner.name))[C.transitions('open')] ?? 0).toBe(0);
  });
});
