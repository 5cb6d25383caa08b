import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetriable, NotConnectedError } from '@siem/core';
import {
  createPostgresService,
  createTimescaleService,
  type StackService,
  stackPaths,
} from '@siem/local-stack';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';
import { type SampleOptions, sampleBatch } from './sample-events.js';
import { uniqueName } from './test-support.js';
import { EventWriter } from './writer.js';

/**
 * The database stops in the middle of a stream of writes and comes back: the writer reports
 * not-connected while it is away, the caller keeps each batch and retries it (as the runtime's pump
 * does), and in the end every event is stored exactly once. Each test stops a database instance of its
 * own (ports 431xx), never the shared stack.
 */
async function outageScenario(service: StackService, url: string, batches = 60, rows = 2_000) {
  await service.up();
  const schema = uniqueName('siem_outage');
  await migrate(url, { schema, chunkInterval: '1 day' });
  const writer = new EventWriter({
    url,
    schema,
    poolSize: 2,
    chunkInterval: '1 day',
    timeoutMs: 10_000,
    breakerResetMs: 300,
    breakerVolume: 1,
  });
  const now = Date.now();
  const o: SampleOptions = { seed: 0x0dd, fromMs: now - 3_600_000, toMs: now, count: batches * rows };
  const failures = new Map<string, number>();
  let outage: Promise<void> | null = null;
  for (let b = 0; b < batches; b++) {
    if (b === Math.floor(batches / 4)) {
      outage = (async () => {
        await service.down(); // while the next batches are being written
        await sleep(1_500);
        await service.up();
      })();
    }
    const batch = sampleBatch(o, b * rows, (b + 1) * rows);
    for (;;) {
      try {
        await writer.writeBatch(batch);
        break;
      } catch (err) {
        expect(isRetriable(err), String(err)).toBe(true);
        const kind =
          err instanceof NotConnectedError ? 'not_connected' : ((err as { code?: string }).code ?? 'other');
        failures.set(kind, (failures.get(kind) ?? 0) + 1);
        await sleep(100);
      }
    }
  }
  await outage;
  const pool = createPool({ url, size: 1 });
  const r = await pool.query(
    `select count(*)::int as n, count(distinct event_id)::int as ids from "${schema}".events`,
  );
  await pool.query(`drop schema "${schema}" cascade`);
  await pool.end();
  await writer.close();
  return { stored: r.rows[0] as { n: number; ids: number }, expected: batches * rows, failures };
}

describe('writer across a database outage', () => {
  const pgService = createPostgresService({ name: 'storage-outage-pg', port: 23100 });
  const tsService = createTimescaleService({ name: 'storage-outage-ts', port: 23101 });
  afterAll(async () => {
    await pgService.down().catch(() => undefined);
    await tsService.down().catch(() => undefined);
    for (const name of ['storage-outage-pg', 'storage-outage-ts']) {
      rmSync(join(stackPaths.stackDir, name), { recursive: true, force: true });
    }
  });

  it('PostgreSQL 15 stopped mid-write and restarted: no loss, no duplicates', async () => {
    const r = await outageScenario(pgService, 'postgres://postgres@127.0.0.1:23100/siem');
    expect(r.stored).toEqual({ n: r.expected, ids: r.expected });
    expect(r.failures.get('not_connected') ?? 0).toBeGreaterThan(0);
  });

  it('TimescaleDB engine stopped mid-write and restarted: no loss, no duplicates', async () => {
    const r = await outageScenario(tsService, 'postgres://postgres@127.0.0.1:23101/postgres', 30, 1_000);
    expect(r.stored).toEqual({ n: r.expected, ids: r.expected });
    expect(r.failures.get('not_connected') ?? 0).toBeGreaterThan(0);
  });
});
