/**
 * SIGTERM under load, then a restart on the same data folder: nothing the gateway accepted is lost,
 * and both runs exit 0.
 *
 * What "accepted" means here. Syslog over TCP has no application-level acknowledgement: an event is
 * accepted when the gateway has read its octet-counted frame from the socket (from then on the
 * gateway alone answers for it). TCP hands a connection's bytes over in order, so the accepted events
 * of one connection are always a prefix of the frames the client wrote on it. The test therefore
 * checks, per connection, that the delivered events are exactly frames 0..K-1 with no hole (a hole
 * would be an accepted event lost), each byte for byte as sent; that K never exceeds what the client
 * wrote; and that the sum of the K is at least the gateway's own count of received events read from
 * its /metrics just before the signal (so accepted events at the tail cannot go missing unnoticed
 * either). On SIGTERM the listener passes on what it has read of a frame cut by the close, marked
 * `truncated`: such a last event must be a prefix of its frame.
 *
 * The first run delivers more slowly than the client sends and stops with shutdown.drain_ms = 0, so a
 * backlog is handed back to the buffer and written to disk at close; the restart replays it. Duplicates (a batch librdkafka still
 * delivered while it was being handed back) are counted and printed, not failed: delivery is at least
 * once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRawEvent } from '@siem/core';
import {
  deleteTopics,
  freePort,
  logSummary,
  metricSum,
  readTopic,
  stackUrls,
  waitForRecords,
} from '@siem/local-stack';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type GatewayProcess,
  OctetCountedLoad,
  startGatewayProcess,
  uniqueTopics,
} from './testing/gateway-process.js';

const SYSLOG_PORT = await freePort();
const API_PORT = await freePort();
const CONNECTIONS = 4;
const RATE = 10_000; // events/s in total: the gateway is busy when the signal comes
const brokers = stackUrls.kafkaBrokers;
const topics = uniqueTopics('gw-sigterm');
const dataDir = mkdtempSync(join(tmpdir(), 'siem-gw-sigterm-'));
const PAD = 'y'.repeat(300);

function frame(conn: number, seq: number): Buffer {
  return Buffer.from(
    `<165>1 2024-06-01T12:00:00.000Z sender-${conn} loadgen ${conn} SEQ - conn=${conn} seq=${seq} ${PAD}`,
  );
}

const running: GatewayProcess[] = [];

async function gatewayRun(env: Record<string, string>): Promise<GatewayProcess> {
  const g = await startGatewayProcess({
    brokers,
    topics,
    dataDir,
    syslogPort: SYSLOG_PORT,
    apiPort: API_PORT,
    env: { SIEM_ADAPTERS__SYSLOG_UDP__ENABLED: 'false', ...env },
  });
  running.push(g);
  return g;
}

afterAll(async () => {
  for (const g of running) await g.stop('SIGKILL', 1_000);
  await deleteTopics(brokers, Object.values(topics));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('gateway SIGTERM under load, restart on the same data folder', () => {
  it('loses nothing it accepted and exits 0', async () => {
    // Delivery held below the intake rate (one lease of 1,000 records at a time, 200 ms linger: at
    // most ~5,000 events/s), so a backlog is in the buffer when the signal comes.
    const first = await gatewayRun({
      SIEM_SHUTDOWN__DRAIN_MS: '0',
      // One lease of 10 records per delivery round, and a round lasts at least one acks=all round trip
      // plus the flush's 10 ms polling step: at most ~1000 events/s, a tenth of what the client sends.
      SIEM_KAFKA__PRODUCER__MAX_IN_FLIGHT_BATCHES: '1',
      SIEM_KAFKA__PRODUCER__BATCH_MAX_RECORDS: '10',
    });
    await first.waitForLog('producers connected');
    await first.waitForLog('created topics');

    const load = new OctetCountedLoad(SYSLOG_PORT, CONNECTIONS, frame);
    await load.connect();
    load.start(RATE);
    await sleep(6_000);

    // the gateway's own count of frames read, just before the signal: a lower bound of "accepted"
    const before = await first.metrics();
    const receivedBeforeSignal = metricSum(before, 'siem_component_received_events_total', {
      component_id: 'syslog_tcp',
    });
    const deliveredBeforeSignal = metricSum(before, 'siem_component_sent_events_total', {
      component_type: 'kafka',
    });
    const signalAt = Date.now();
    first.child.kill('SIGTERM');
    const exit1 = await first.exited;
    const stopMs = Date.now() - signalAt;
    await load.stop();
    load.destroy();
    expect(exit1, logSummary(first.lines)).toEqual({ code: 0, signal: null });
    const handOver = first.lines.find(
      (l) => l.includes('"flush deadline reached') || l.includes('"buffer flushed'),
    );

    // restart on the same data folder: it replays what the first run kept on disk
    const second = await gatewayRun({});
    const opened = await second.waitForLog('buffer open');
    await second.waitForLog('producers connected');
    const lowerBound = receivedBeforeSignal;
    await waitForRecords(brokers, topics.raw, lowerBound, 120_000, 3_000);
    // everything the buffer held is acknowledged
    for (let i = 0; i < 60; i++) {
      const m = await second.metrics();
      if (
        metricSum(m, 'siem_buffer_memory_events') === 0 &&
        metricSum(m, 'siem_buffer_outstanding_leases') === 0 &&
        metricSum(m, 'siem_component_sent_events_total', { component_kind: 'buffer' }) >=
          metricSum(m, 'siem_buffer_replayed_events_total')
      )
        break;
      await sleep(500);
    }
    await waitForRecords(brokers, topics.raw, lowerBound, 60_000, 3_000);
    const afterRestart = await second.metrics();
    const records = await readTopic(brokers, topics.raw);

    const delivered = Array.from({ length: CONNECTIONS }, () => new Map<number, number>());
    const partial: string[] = [];
    for (const r of records) {
      const ev = decodeRawEvent(r.value!);
      const m = /conn=(\d+) seq=(\d+) /.exec(ev.payload.toString());
      if (m === null) {
        // cut by the close before its sequence number: only a truncated frame may look like this
        expect(ev.marks).toContain('truncated');
        partial.push(`?:${ev.payload.length}`);
        continue;
      }
      const conn = Number(m[1]);
      const seq = Number(m[2]);
      const sent = frame(conn, seq);
      if (ev.marks.includes('truncated')) {
        // a frame cut by the close: what was read of it, a prefix of what was sent
        expect(Buffer.compare(ev.payload, sent.subarray(0, ev.payload.length))).toBe(0);
        expect(ev.originalSize).toBe(sent.length);
        partial.push(`${conn}:${seq}`);
      } else {
        expect(Buffer.compare(ev.payload, sent)).toBe(0);
      }
      delivered[conn]!.set(seq, (delivered[conn]!.get(seq) ?? 0) + 1);
    }

    let accepted = 0;
    let duplicates = 0;
    const perConnection = load.connections.map((c, conn) => {
      const seqs = delivered[conn]!;
      const k = seqs.size === 0 ? 0 : Math.max(...seqs.keys()) + 1;
      const holes: number[] = [];
      for (let s = 0; s < k; s++) if (!seqs.has(s)) holes.push(s);
      for (const n of seqs.values()) duplicates += n - 1;
      accepted += k;
      return { conn, written: c.written, queued: c.queued, delivered_prefix: k, holes };
    });
    const report = {
      signal_after_ms: 6_000,
      exit_after_ms: stopMs,
      received_before_signal: receivedBeforeSignal,
      delivered_before_signal: deliveredBeforeSignal,
      accepted_delivered: accepted,
      records: records.length,
      duplicates,
      partial_last_frames: partial,
      first_run_hand_over: handOver === undefined ? null : JSON.parse(handOver).msg,
      restart_buffer_at_open: {
        memoryEvents: opened.memoryEvents,
        diskBytes: opened.diskBytes,
        diskSegments: opened.diskSegments,
      },
      restart_replayed_events: metricSum(afterRestart, 'siem_buffer_replayed_events_total'),
      restart_delivered: metricSum(afterRestart, 'siem_component_sent_events_total', {
        component_type: 'kafka',
      }),
      per_connection: perConnection,
    };
    process.stdout.write(`sigterm + restart: ${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`first run warnings and errors:\n${logSummary(first.lines)}\n`);

    for (const c of perConnection) {
      expect(c.holes, `connection ${c.conn}`).toEqual([]);
      expect(c.delivered_prefix).toBeLessThanOrEqual(c.queued);
    }
    expect(accepted).toBeGreaterThanOrEqual(receivedBeforeSignal);
    // nothing read from a socket was turned away at shutdown (the listeners stop before the buffer
    // closes; an event offered to a closed buffer would be read, counted as discarded, and lost)
    expect(first.lines.filter((l) => l.includes('buffer rejected syslog events'))).toEqual([]);
    expect(records.length).toBe(accepted + duplicates);
    expect(partial.length).toBeLessThanOrEqual(CONNECTIONS);
    // the backlog went to disk at the first stop and the restart delivered it
    expect(report.restart_buffer_at_open.diskBytes).toBeGreaterThan(0);
    expect(report.restart_replayed_events).toBeGreaterThan(0);

    const exit2 = await second.stop('SIGTERM');
    expect(exit2, logSummary(second.lines)).toEqual({ code: 0, signal: null });
  }, 300_000);
});
