/**
 * The database stops for 30 s while records keep arriving on the raw topic: the normalizer pauses its
 * partitions (siem_kafka_consumer_paused_ratio 1, "partitions paused" in its log), commits no offset
 * while nothing is stored, resumes when the database is back, and in the end every record is one row —
 * no loss, no duplicate. The database is an instance of this test's own (PostgreSQL 15 on a port of
 * its own), never the shared stack's.
 */
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  committedOffsets,
  countEvents,
  createPostgresService,
  endOffsets,
  logSummary,
  metricSum,
  produceRecords,
  type RoleProcess,
  scrapeMetrics,
  stackPaths,
  stackUrls,
  startRoleProcess,
  waitForCommitted,
  waitForEvents,
  waitUntil,
} from '@siem/local-stack';
import { afterAll, describe, expect, it } from 'vitest';
import { syslogRecords } from './testing/load.js';
import { normalizerEnv } from './testing/normalizer-env.js';
import { normalizerScenario } from './testing/scenario.js';

const brokers = stackUrls.kafkaBrokers;
const PG_PORT = 28100;
const API_PORT = 28101;
const SERVICE = 'norm-outage-pg';
const OUTAGE_MS = 30_000;
/** records per 500 ms tick, for LOAD_TICKS ticks: a steady load before, during and after the outage */
const PER_TICK = 400;
const LOAD_TICKS = 100;
const PARTITIONS = 4;

describe('normalizer role: the database down for 30 s under load', () => {
  const { topics, group, dataDir, release } = normalizerScenario('norm-outage');
  const pgService = createPostgresService({ name: SERVICE, port: PG_PORT });
  const url = `postgres://postgres@127.0.0.1:${PG_PORT}/siem`;
  let proc: RoleProcess | null = null;

  afterAll(async () => {
    await release(proc);
    await pgService.down().catch(() => undefined);
    rmSync(join(stackPaths.stackDir, SERVICE), { recursive: true, force: true });
    // as root, a stack folder the postgres user cannot reach moves to the temporary directory
    for (const f of readdirSync(tmpdir()).filter((f) => f.startsWith(`siem-stack-${SERVICE}-`))) {
      rmSync(join(tmpdir(), f), { recursive: true, force: true });
    }
  });

  it('pauses, resumes, and stores every record exactly once', async () => {
    await pgService.up();
    proc = await startRoleProcess(
      'normalizer',
      normalizerEnv({
        dataDir,
        brokers,
        topics,
        rawPartitions: PARTITIONS,
        group,
        databaseUrl: url,
        apiPort: API_PORT,
      }),
    );

    // steady load, from before the outage to after it
    const total = PER_TICK * LOAD_TICKS;
    let sent = 0;
    const load = (async () => {
      for (let t = 0; t < LOAD_TICKS; t++) {
        const started = Date.now();
        await produceRecords(brokers, topics.raw, syslogRecords(sent, sent + PER_TICK));
        sent += PER_TICK;
        await sleep(Math.max(0, 500 - (Date.now() - started)));
      }
    })();

    await waitUntil('rows flowing before the outage', async () => {
      const n = await countEvents(url, 'siem');
      return n.rows >= PER_TICK * 10 ? n : undefined;
    });
    const metricsBefore = await scrapeMetrics(API_PORT);
    expect(metricSum(metricsBefore, 'siem_kafka_consumer_paused_ratio')).toBe(0);

    const downAt = Date.now();
    await pgService.down();
    // the consumer notices and pauses; while nothing is stored, no offset moves
    await proc.waitForLog('sink unavailable: partitions paused, batch retried', 30_000);
    await waitUntil('siem_kafka_consumer_paused_ratio 1', async () =>
      metricSum(await scrapeMetrics(API_PORT), 'siem_kafka_consumer_paused_ratio') === 1 ? true : undefined,
    );
    const committedDuring = await committedOffsets(brokers, group, topics.raw, PARTITIONS);
    const sentAtPause = sent;
    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now() - 2_000));
    expect(await committedOffsets(brokers, group, topics.raw, PARTITIONS)).toEqual(committedDuring);
    const during = await scrapeMetrics(API_PORT);
    expect(metricSum(during, 'siem_kafka_consumer_paused_ratio')).toBe(1);
    expect(metricSum(during, 'siem_kafka_consumer_retries_total')).toBeGreaterThan(0);
    expect(sent, 'records kept arriving during the outage').toBeGreaterThan(sentAtPause);
    const ready = await fetch(`http://127.0.0.1:${API_PORT}/health/ready`);
    expect(ready.status).toBe(503);
    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
    await pgService.up();
    const upAt = Date.now();

    await proc.waitForLog('sink available again: partitions resumed', 60_000);
    const resumedAfterMs = Date.now() - upAt;
    await load;
    const final = await waitForEvents(url, 'siem', total, 240_000, 500);
    expect(final).toEqual({ rows: total, ids: total });
    const ends = await endOffsets(brokers, topics.raw);
    expect(ends.reduce((a, b) => a + b, 0)).toBe(total);
    await waitForCommitted(brokers, group, topics.raw, ends);
    const after = await scrapeMetrics(API_PORT);
    expect(metricSum(after, 'siem_kafka_consumer_paused_ratio')).toBe(0);
    expect(metricSum(after, 'siem_component_discarded_events_total', { component_type: 'normalizer' })).toBe(
      0,
    );
    expect((await endOffsets(brokers, topics.dlq)).reduce((a, b) => a + b, 0)).toBe(0);

    const exit = await proc.stop('SIGTERM');
    expect(exit, logSummary(proc.lines)).toEqual({ code: 0, signal: null });
    process.stdout.write(
      `[database-outage] ${total} records, database down ${Math.round((upAt - downAt) / 1000)} s, ` +
        `resumed ${resumedAfterMs} ms after it was back; retries ${metricSum(after, 'siem_kafka_consumer_retries_total')}\n` +
        `${logSummary(proc.lines)}\n`,
    );
  });
});
