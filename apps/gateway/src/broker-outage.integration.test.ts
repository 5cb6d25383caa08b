/**
 * The broker stops for 30 s in the middle of a steady load and comes back. The broker is this test's
 * own single-node instance (ports 26200/26201), so stopping it disturbs nobody else. The gateway runs
 * with a small memory ring (2,000 events) so the backlog of the outage has to spill to disk.
 *
 * "Accepted" here: every frame the client wrote in full — the gateway keeps running and the client
 * ends its connections cleanly (FIN after the last frame), so the gateway reads every byte it was sent.
 * Every accepted event must arrive; duplicates (at-least-once) are counted and printed, not failed.
 * The circuit must have opened and closed again, and the buffer must have spilled (its /metrics).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRawEvent } from '@siem/core';
import {
  createKafkaService,
  freePort,
  logSummary,
  metricSum,
  readTopic,
  stackPaths,
  waitForRecords,
} from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewayProcess,
  OctetCountedLoad,
  startGatewayProcess,
  uniqueTopics,
} from './testing/gateway-process.js';

const KAFKA_PORT = 26200;
const SYSLOG_PORT = await freePort();
const API_PORT = await freePort();
const OUTAGE_MS = 30_000;
const RATE = 1_000; // events/s in total
const CONNECTIONS = 4;
const HOSTS = 8;

const kafka = createKafkaService({ name: 'gw-outage-kafka', port: KAFKA_PORT, controllerPort: 26201 });
const brokers = kafka.address;
const topics = uniqueTopics('gw-outage');
const PAD = 'x'.repeat(200);

function frame(conn: number, seq: number): Buffer {
  const host = `host-${(conn * 31 + seq) % HOSTS}`;
  return Buffer.from(`<14>1 2024-06-01T12:00:00.000Z ${host} loadgen - - - conn=${conn} seq=${seq} ${PAD}`);
}

let gateway: GatewayProcess | null = null;
let dataDir = '';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'siem-gw-outage-'));
  await kafka.up();
});

afterAll(async () => {
  if (gateway !== null) await gateway.stop('SIGTERM');
  await kafka.down();
  rmSync(join(stackPaths.stackDir, 'gw-outage-kafka'), { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('broker outage under steady load', () => {
  it('delivers every accepted event after 30 s without a broker; the circuit opens and closes; the buffer spills', async () => {
    gateway = await startGatewayProcess({
      brokers,
      topics,
      dataDir,
      syslogPort: SYSLOG_PORT,
      apiPort: API_PORT,
      env: { SIEM_BUFFER__MAX_EVENTS: '2000', SIEM_ADAPTERS__SYSLOG_UDP__ENABLED: 'false' },
    });
    await gateway.waitForLog('producers connected');
    await gateway.waitForLog('created topics');

    const load = new OctetCountedLoad(SYSLOG_PORT, CONNECTIONS, frame);
    await load.connect();
    load.start(RATE);
    await sleep(8_000);
    const before = await gateway.metrics();
    expect(
      metricSum(before, 'siem_component_sent_events_total', { component_type: 'kafka' }),
    ).toBeGreaterThan(0);

    const t0 = Date.now();
    await kafka.down();
    const stoppedAfter = Date.now() - t0;
    const during: number[] = [];
    let maxDiskBytes = 0;
    const outageEnd = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnd) {
      const m = await gateway.metrics();
      during.push(metricSum(m, 'siem_pipeline_circuit_state', { sink: 'kafka' }));
      maxDiskBytes = Math.max(maxDiskBytes, metricSum(m, 'siem_buffer_disk_bytes'));
      await sleep(1_000);
    }
    const t1 = Date.now();
    await kafka.up();
    const restartMs = Date.now() - t1;
    await sleep(10_000);
    await load.end();
    const written = load.written;
    expect(load.connections.every((c) => c.end === 'ended')).toBe(true);
    expect(written).toBe(load.connections.reduce((a, c) => a + c.queued, 0));

    await waitForRecords(brokers, topics.raw, written, 180_000, 3_000);
    const after = await gateway.metrics();
    const records = await readTopic(brokers, topics.raw);

    const seen = new Map<string, number>();
    const lastSeqOfHost = new Map<string, number>();
    let outOfOrder = 0;
    for (const r of records) {
      const ev = decodeRawEvent(r.value!);
      const m = /conn=(\d+) seq=(\d+) /.exec(ev.payload.toString())!;
      const id = `${m[1]}:${m[2]}`;
      expect(Buffer.compare(ev.payload, frame(Number(m[1]), Number(m[2])))).toBe(0);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      // order per host and connection (the sender's order) within its partition
      const k = `${r.key}/${m[1]}`;
      const seq = Number(m[2]);
      if ((lastSeqOfHost.get(k) ?? -1) > seq) outOfOrder++;
      lastSeqOfHost.set(k, Math.max(seq, lastSeqOfHost.get(k) ?? -1));
    }
    const missing: string[] = [];
    for (let c = 0; c < CONNECTIONS; c++) {
      for (let s = 0; s < load.connections[c]!.written; s++)
        if (!seen.has(`${c}:${s}`)) missing.push(`${c}:${s}`);
    }
    const duplicates = [...seen.values()].reduce((a, n) => a + (n - 1), 0);
    const report = {
      accepted: written,
      records: records.length,
      missing: missing.length,
      duplicates,
      out_of_order_within_host: outOfOrder,
      broker_stop_ms: stoppedAfter,
      broker_restart_ms: restartMs,
      circuit_states_during_outage: during.join(''),
      circuit_transitions: {
        open: metricSum(after, 'siem_pipeline_circuit_transitions_total', { sink: 'kafka', to: 'open' }),
        half_open: metricSum(after, 'siem_pipeline_circuit_transitions_total', {
          sink: 'kafka',
          to: 'half_open',
        }),
        closed: metricSum(after, 'siem_pipeline_circuit_transitions_total', { sink: 'kafka', to: 'closed' }),
      },
      buffer: {
        spilled_events: metricSum(after, 'siem_buffer_spilled_events_total'),
        accepted_disk: metricSum(after, 'siem_buffer_spilled_events_total', { reason: 'overflow' }),
        replayed_events: metricSum(after, 'siem_buffer_replayed_events_total'),
        nacked_events: metricSum(after, 'siem_buffer_nacked_events_total'),
        max_disk_bytes_seen: maxDiskBytes,
        pauses: metricSum(after, 'siem_buffer_pauses_total'),
      },
      requeued_records: metricSum(after, 'siem_pipeline_records_total', { outcome: 'requeued' }),
      dropped_records: metricSum(after, 'siem_pipeline_records_total', { outcome: 'dropped' }),
    };
    process.stdout.write(`broker outage: ${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`gateway warnings and errors:\n${logSummary(gateway.lines)}\n`);
    if (missing.length > 0) process.stdout.write(`missing (first 20): ${missing.slice(0, 20).join(' ')}\n`);

    expect(missing).toEqual([]);
    expect(records.length).toBe(written + duplicates);
    expect(report.dropped_records).toBe(0);
    expect(during).toContain(2); // open while the broker was away
    expect(report.circuit_transitions.open).toBeGreaterThanOrEqual(1);
    expect(report.circuit_transitions.closed).toBeGreaterThanOrEqual(1);
    expect(metricSum(after, 'siem_pipeline_circuit_state', { sink: 'kafka' })).toBe(0);
    expect(report.buffer.spilled_events).toBeGreaterThan(0);
    expect(maxDiskBytes).toBeGreaterThan(0);
    // the backlog is gone: everything the buffer took is acknowledged, nothing waits in memory
    expect(metricSum(after, 'siem_buffer_memory_events')).toBe(0);
    expect(metricSum(after, 'siem_buffer_outstanding_leases')).toBe(0);
    const buffer = { component_kind: 'buffer' };
    expect(metricSum(after, 'siem_component_sent_events_total', buffer)).toBe(
      metricSum(after, 'siem_component_received_events_total', buffer),
    );
    // the backlog drained in order: per host (and sender) the partition holds the events in the order
    // sent — unless a batch was handed back (requeued), after which the pump may reorder (pump.ts)
    if (report.requeued_records === 0) expect(outOfOrder).toBe(0);

    const exit = await gateway.stop('SIGTERM');
    gateway = null;
    expect(exit).toEqual({ code: 0, signal: null });
  }, 400_000);
});
