/**
 * A normalizer killed (SIGKILL) in the middle of a batch — some of the batch's rows stored, its offsets
 * not committed — and started again: the batch is delivered again, the rows already stored are skipped
 * by the idempotent write, and in the end every record is one row: no loss, no duplicate.
 *
 * The batch (normalizer.batch_max_records) is ten write statements (storage.write.batch_rows), so
 * rows of a batch are committed to the database while the rest of it is still being written. A kill
 * is "mid-batch" when the database holds more rows than the group has committed offsets for; the
 * test checks that it does, and kills again later if a kill happened to fall between two batches.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  committedOffsets,
  countEvents,
  createScratchDatabase,
  endOffsets,
  logSummary,
  metricSum,
  produceRecords,
  type RoleProcess,
  scrapeMetrics,
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
const API_PORT = 28201;
const TOTAL = 60_000;
const PARTITIONS = 4;
const BATCH = 5_000;

describe('normalizer role: a consumer killed mid-batch and restarted', () => {
  const { topics, group, dataDir, release } = normalizerScenario('norm-kill');
  let db: { url: string; drop(): Promise<void> } | null = null;
  let proc: RoleProcess | null = null;

  afterAll(async () => {
    await release(proc);
    await db?.drop();
  });

  it('loses nothing and stores nothing twice', async () => {
    db = await createScratchDatabase(stackUrls.postgres, 'siem_norm_kill');
    const env = {
      ...normalizerEnv({
        dataDir,
        brokers,
        topics,
        rawPartitions: PARTITIONS,
        group,
        databaseUrl: db.url,
        apiPort: API_PORT,
      }),
      SIEM_NORMALIZER__BATCH_MAX_RECORDS: String(BATCH),
      SIEM_STORAGE__WRITE__BATCH_ROWS: String(BATCH / 10),
    };
    // the first start creates the topics and the table; the records go in while it runs
    proc = await startRoleProcess('normalizer', env);
    const produced = (async () => {
      for (let i = 0; i < TOTAL; i += 10_000)
        await produceRecords(brokers, topics.raw, syslogRecords(i, i + 10_000));
    })();

    const kills: Array<{ rows: number; committed: number }> = [];
    let threshold = TOTAL * 0.15;
    for (let attempt = 0; attempt < 4; attempt++) {
      // kill as soon as rows pass the threshold while the count is inside a batch
      await waitUntil(
        `more than ${threshold} rows stored`,
        async () => {
          const n = await countEvents(db!.url, 'siem');
          return n.rows > threshold && n.rows % BATCH !== 0 ? n : undefined;
        },
        180_000,
        20,
      );
      proc.child.kill('SIGKILL');
      expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const rows = (await countEvents(db.url, 'siem')).rows;
      const committed = (await committedOffsets(brokers, group, topics.raw, PARTITIONS))
        .map((c) => Math.max(0, c))
        .reduce((a, b) => a + b, 0);
      kills.push({ rows, committed });
      proc = await startRoleProcess('normalizer', env);
      if (rows > committed) break; // stored but not committed: this restart must re-deliver them
      threshold = rows + BATCH;
    }
    const last = kills[kills.length - 1]!;
    expect(last.rows, JSON.stringify(kills)).toBeGreaterThan(last.committed);
    expect(last.rows).toBeLessThan(TOTAL);

    await produced;
    const final = await waitForEvents(db!.url, 'siem', TOTAL, 300_000, 500);
    // nothing lost, nothing twice
    expect(final).toEqual({ rows: TOTAL, ids: TOTAL });
    const ends = await endOffsets(brokers, topics.raw);
    expect(ends.reduce((a, b) => a + b, 0)).toBe(TOTAL);
    await waitForCommitted(brokers, group, topics.raw, ends);
    // the restarted member re-delivered rows the killed one had stored, and skipped them
    const metrics = await scrapeMetrics(API_PORT);
    const duplicates = metricSum(metrics, 'siem_storage_rows_duplicate_total');
    expect(duplicates).toBeGreaterThan(0);
    // (a statement in flight at the kill may still have committed after the count)
    expect(duplicates).toBeLessThanOrEqual(last.rows - last.committed + BATCH / 10);
    await sleep(500);
    expect((await countEvents(db.url, 'siem')).rows).toBe(TOTAL);
    expect((await endOffsets(brokers, topics.dlq)).reduce((a, b) => a + b, 0)).toBe(0);

    const exit = await proc.stop('SIGTERM');
    expect(exit, logSummary(proc.lines)).toEqual({ code: 0, signal: null });
    process.stdout.write(
      `[consumer-crash] kills ${JSON.stringify(kills)}; rows re-delivered and skipped after the restart: ${duplicates}\n`,
    );
  });
});
