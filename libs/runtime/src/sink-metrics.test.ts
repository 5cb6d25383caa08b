import { type BufferRecord, encodeRawEvent, type NormalizedEvent, SiemError, type Sink } from '@siem/core';
import { COMPONENT_METRIC_NAMES, ComponentMetrics, metricsRegistry, silentLogger } from '@siem/observability';
import { expectComponentSeriesMoved } from '@siem/observability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitBreakerSink } from './circuit.js';
import { NORMALIZER_SINK_REF, NormalizingSink } from './normalizing-sink.js';
import { Pump } from './pump.js';
import { FakeLeaseSource, FakeSink, records, uniqueName, until } from './testing/doubles.js';

// The vocabulary series of the runtime's sinks: what the pump gives up on lands in its sink's
// discarded events, through a circuit too; the normalizer counts records in, rows out, dead letters.

async function seriesOf(name: string, id: string, where: Record<string, string> = {}): Promise<number> {
  const { values } = await metricsRegistry.getSingleMetric(name)!.get();
  let sum = 0;
  for (const v of values) {
    if (v.labels.component_id !== id) continue;
    if (Object.entries(where).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  }
  return sum;
}

const pumps: Pump[] = [];
afterEach(async () => {
  for (const pump of pumps.splice(0)) await pump.stop(0);
});

describe('Pump and circuit: drops are the sink component’s discarded events', () => {
  it('counts a lease the sink refused for good under the sink’s own series, through the circuit', async () => {
    const name = uniqueName('sink');
    const inner = Object.assign(
      new FakeSink(name, () => new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'never')),
      {
        component: new ComponentMetrics({ id: name, kind: 'sink', type: 'fake' }),
      },
    );
    const circuit = new CircuitBreakerSink(inner, { resetTimeoutMs: 1_000, logger: silentLogger });
    expect(circuit.component).toBe(inner.component);
    const source = new FakeLeaseSource(records(0, 3));
    const pump = new Pump(source, circuit, { maxBatch: 3, maxInFlight: 1, logger: silentLogger });
    pumps.push(pump);
    pump.start();
    await until(() => source.acked.length === 3, 'the dropped lease acked');
    await expectComponentSeriesMoved(metricsRegistry, inner.component.ref, { discarded: true });
    expect(
      await seriesOf(COMPONENT_METRIC_NAMES.discardedEvents, name, {
        reason: 'SIEM_ERR_KAFKA_RECORD_TOO_LARGE',
        intentional: 'false',
      }),
    ).toBe(3);
  });

  it('falls back to a series named after a sink that has none', async () => {
    const name = uniqueName('plain');
    const source = new FakeLeaseSource(records(0, 2));
    const sink = new FakeSink(name, () => new SiemError('SIEM_ERR_KAFKA_RECORD_TOO_LARGE', 'never'));
    const pump = new Pump(source, sink, { maxBatch: 2, maxInFlight: 1, logger: silentLogger });
    pumps.push(pump);
    pump.start();
    await until(() => source.acked.length === 2, 'the dropped lease acked');
    await expectComponentSeriesMoved(
      metricsRegistry,
      { id: name, kind: 'sink', type: name },
      { discarded: true },
    );
  });
});

describe('NormalizingSink metrics', () => {
  it('counts records received, rows stored and records dead-lettered by reason', async () => {
    const stored: NormalizedEvent[] = [];
    const writer: Sink<NormalizedEvent[]> = {
      name: 'storage',
      connect: async () => undefined,
      healthcheck: async () => ({ ok: true }),
      close: async () => undefined,
      writeBatch: async (rows) => {
        stored.push(...rows);
      },
    };
    const deadLettered: BufferRecord[] = [];
    const sink = new NormalizingSink({
      writer,
      deadLetters: { deadLetter: async (refused) => void deadLettered.push(...refused) },
      logger: silentLogger,
    });
    const id = NORMALIZER_SINK_REF.id;
    const before = {
      received: await seriesOf(COMPONENT_METRIC_NAMES.receivedEvents, id),
      sent: await seriesOf(COMPONENT_METRIC_NAMES.sentEvents, id),
      discarded: await seriesOf(COMPONENT_METRIC_NAMES.discardedEvents, id, { reason: 'invalid_raw_event' }),
      errors: await seriesOf(COMPONENT_METRIC_NAMES.errors, id, {
        error_code: 'invalid_raw_event',
        stage: 'processing',
      }),
    };
    const good = encodeRawEvent({
      id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      receivedAt: '2025-03-05T14:10:00.000Z',
      tenant: 'acme',
      sourceType: 'syslog',
      source: {
        adapter: 'syslog_udp',
        transport: 'udp',
        peerAddress: '192.0.2.10',
        peerPort: 40000,
        tls: null,
      },
      syslog: null,
      marks: [],
      parseError: null,
      originalSize: 5,
      payload: Buffer.from('hello'),
    });
    await sink.writeBatch([
      { key: 'a', value: good },
      { key: 'b', value: Buffer.from('not a raw event') },
    ]);
    expect(deadLettered).toHaveLength(1);
    expect((await seriesOf(COMPONENT_METRIC_NAMES.receivedEvents, id)) - before.received).toBe(2);
    expect((await seriesOf(COMPONENT_METRIC_NAMES.sentEvents, id)) - before.sent).toBe(stored.length);
    expect(
      (await seriesOf(COMPONENT_METRIC_NAMES.discardedEvents, id, { reason: 'invalid_raw_event' })) -
        before.discarded,
    ).toBe(1);
    expect(
      (await seriesOf(COMPONENT_METRIC_NAMES.errors, id, {
        error_code: 'invalid_raw_event',
        stage: 'processing',
      })) - before.errors,
    ).toBe(1);
    expect(stored.length).toBeGreaterThan(0);
  });
});
