import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAgainst } from '@siem/config';
import { stackUrls } from '@siem/local-stack';
import { silentLogger } from '@siem/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageOptions, storageOptionsSchema } from './options.js';
import { sampleBatch } from './sample-events.js';
import { createStorage } from './storage.js';
import { createScratchDatabase } from './test-support.js';

describe('createStorage: what a role wires from the storage configuration', () => {
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;
  beforeAll(async () => {
    db = await createScratchDatabase(stackUrls.postgres, 'siem_test_storage');
    dataDir = mkdtempSync(join(tmpdir(), 'siem-data-'));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates, writes, runs and reports the tiers, and closes', async () => {
    const options = { database_url: db.url, tiers: { schedule: '1 hour' } };
    expect(checkAgainst(storageOptionsSchema, options)).toEqual([]);
    const storage = createStorage(options as unknown as StorageOptions, {
      url: db.url,
      dataDir,
      logger: silentLogger,
    });
    expect(storage.settings.archive.dir).toBe(join(dataDir, 'archive'));
    await storage.start();
    try {
      const now = Date.now();
      await storage.writer.writeBatch(
        sampleBatch({ seed: 9, fromMs: now - 3_600_000, toMs: now, count: 500 }, 0, 500),
      );
      expect((await storage.writer.healthcheck()).ok).toBe(true);
      const run = await storage.runTiers();
      expect(run).toMatchObject({ engine: 'postgres', skipped: null, errors: [] });
      const status = await storage.tierStatus();
      expect(status.tiers[0]).toMatchObject({ tier: 'hot' });
      expect(status.rollups.find((r) => r.name === 'siem.events_hourly')!.rows).toBeGreaterThan(0);
      const count = await storage.pool.query('select count(*)::int as n from siem.events');
      expect(count.rows[0].n).toBe(500);
    } finally {
      await storage.close();
    }
  });
});
