import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedEvent } from '@siem/core';
import { stackUrls } from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArchiveManifest,
  type ArchiveProblem,
  archiveFolder,
  importArchive,
  readManifest,
  verifyArchiveFile,
} from './archive.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';
import { type SampleOptions, sampleBatch, sampleEvents } from './sample-events.js';
import type { StorageSettings } from './settings.js';
import type { Engine } from './sql-files.js';
import {
  createScratchDatabase,
  createScratchTablespace,
  dropSchema,
  uniqueName,
  warmPool,
} from './test-support.js';
import { type ChunkInfo, listChunks, runTiers, tierOf, tierStatus } from './tiers.js';
import { EventWriter } from './writer.js';

const DAY = 86_400_000;

/**
 * 120 days of events (one-day chunks), one run of the tier job with the default boundaries (hot 7 d,
 * warm 30 d, cold 90 d, then frozen), then: each tier holds what it should, the rollups count every
 * generated event (including the dropped ones), and the archive files re-import to the same rows.
 */
function tierScenario(engine: Engine, target: () => { url: string; schema: string }) {
  const now = Date.now();
  const o: SampleOptions = {
    seed: 0x71e5,
    fromMs: now - 120 * DAY,
    toMs: now,
    count: 24_000,
    tenants: 3,
    hosts: 20,
  };
  let pool: Pool;
  let settings: Partial<StorageSettings>;
  let archiveDir: string;
  let tablespace: { name: string; drop(): Promise<void> };
  let schema: string;
  let frozenRows: string[] = [];

  const rowsJson = async (s: string, where = 'true') =>
    (
      await pool.query<{ j: string }>(
        `select row_to_json(e)::text as j from "${s}".events e where ${where} order by event_id`,
      )
    ).rows.map((r) => r.j);

  beforeAll(async () => {
    const t = target();
    schema = t.schema;
    pool = createPool({ url: t.url, size: 3, idleTimeoutMs: 0 });
    await warmPool(pool, 3);
    archiveDir = mkdtempSync(join(tmpdir(), 'siem-archive-'));
    tablespace = await createScratchTablespace(t.url, 'siem_test_cold');
    settings = {
      schema,
      chunkInterval: '1 day',
      coldTablespace: tablespace.name,
      archive: { enabled: true, dir: archiveDir, zstdLevel: 3 },
    };
    const m = await migrate(pool, settings);
    expect(m.engine).toBe(engine);
    const writer = new EventWriter({ pool, schema, chunkInterval: '1 day' });
    for (let i = 0; i < o.count; i += 4_000) await writer.writeBatch(sampleBatch(o, i, i + 4_000));
    await writer.close();
    // The rows the frozen tier will take away: whole one-day chunks that end 90 days ago or earlier.
    const cut = new Date(Math.floor((Date.now() - 90 * DAY) / DAY) * DAY).toISOString();
    frozenRows = await rowsJson(schema, `time < '${cut}'`);
    expect(frozenRows.length).toBeGreaterThan(5_000);
  });

  afterAll(async () => {
    await dropSchema(target().url, schema);
    await dropSchema(target().url, `${schema}_restore`);
    await dropSchema(target().url, `${schema}_refused`);
    await pool?.end();
    await tablespace?.drop();
    rmSync(archiveDir, { recursive: true, force: true });
  });

  it('puts every chunk in its tier', async () => {
    const runStarted = Date.now();
    const report = await runTiers(pool, settings);
    expect(report.errors).toEqual([]);
    expect(report.skipped).toBeNull();
    expect(report.dropped).toBeGreaterThanOrEqual(29);
    expect(report.exported).toHaveLength(report.dropped);
    expect(report.moved).toBeGreaterThanOrEqual(59);
    if (engine === 'timescaledb') {
      expect(report.jobsRun).toHaveLength(3); // columnstore policy + two refresh policies, via CALL run_job
      expect(report.compressed).toBeGreaterThanOrEqual(88);
    } else expect(report.indexesDropped).toBeGreaterThanOrEqual(88);

    const client = await pool.connect();
    let chunks: ChunkInfo[];
    try {
      chunks = await listChunks(client, engine, schema);
    } finally {
      client.release();
    }
    const checkedAt = new Date();
    const near = (c: ChunkInfo) =>
      [7, 30, 90].some((d) => Math.abs(checkedAt.getTime() - d * DAY - c.rangeEnd.getTime()) < 10 * 60_000);
    const byTier: Record<string, number> = {};
    for (const c of chunks) {
      if (near(c)) continue; // a boundary crossed between the run and this check
      // The embedded engine builds lookup indexes on closed chunks: those closed before the run have them.
      const closed = c.rangeEnd.getTime() <= runStarted;
      if (!closed && c.rangeEnd.getTime() <= checkedAt.getTime()) continue; // closed during the run
      const tier = tierOf(c.rangeEnd, checkedAt, {
        warmAfter: '7 days',
        coldAfter: '30 days',
        frozenAfter: '90 days',
      });
      byTier[tier] = (byTier[tier] ?? 0) + 1;
      const expected = {
        hot: {
          compressed: false,
          tablespace: 'pg_default',
          secondaryIndexes: engine === 'postgres' || closed ? 6 : 0,
        },
        warm: { compressed: engine === 'timescaledb', tablespace: 'pg_default', secondaryIndexes: 0 },
        cold: { compressed: engine === 'timescaledb', tablespace: tablespace.name, secondaryIndexes: 0 },
      }[tier as 'hot' | 'warm' | 'cold'];
      expect(expected, `${c.name} ${tier}: frozen chunks must be gone`).toBeDefined();
      expect(
        { compressed: c.compressed, tablespace: c.tablespace, secondaryIndexes: c.secondaryIndexes },
        `${c.name} (${tier})`,
      ).toEqual(expected);
    }
    expect(byTier.hot).toBeGreaterThanOrEqual(7);
    expect(byTier.warm).toBeGreaterThanOrEqual(22);
    expect(byTier.cold).toBeGreaterThanOrEqual(59);
    expect(byTier.frozen).toBeUndefined();

    const status = await tierStatus(pool, settings);
    expect(status.tiers.map((t) => t.tier)).toEqual(['hot', 'warm', 'cold', 'frozen']);
    expect(status.tiers[3]!.chunks).toBe(report.exported.length);
    expect(status.tiers[3]!.rows).toBe(frozenRows.length);
    if (engine === 'timescaledb') expect(status.tiers[1]!.compressionRatio).toBeGreaterThan(1);
  });

  it('keeps rollups that count every event, dropped ones included', async () => {
    const perDay = new Map<string, number>();
    const perTenant = new Map<string, number>();
    for (const e of sampleEvents(o)) {
      const day = `${e.time.slice(0, 10)}T00:00:00.000Z`;
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
      perTenant.set(e.tenantId, (perTenant.get(e.tenantId) ?? 0) + 1);
    }
    const hourly = await pool.query<{ day: Date; n: string }>(
      `select date_trunc('day', bucket, 'UTC') as day, sum(events) as n from "${schema}".events_hourly group by 1 order by 1`,
    );
    expect(new Map(hourly.rows.map((r) => [r.day.toISOString(), Number(r.n)]))).toEqual(perDay);
    const daily = await pool.query<{ tenant_id: string; n: string }>(
      `select tenant_id, sum(events) as n from "${schema}".events_daily group by 1 order by 1`,
    );
    expect(new Map(daily.rows.map((r) => [r.tenant_id, Number(r.n)]))).toEqual(perTenant);
    const remaining = await pool.query<{ n: string }>(`select count(*) as n from "${schema}".events`);
    expect(Number(remaining.rows[0]!.n) + frozenRows.length).toBe(o.count);
  });

  it('writes archive files that verify and re-import to the same rows', async () => {
    const folder = archiveFolder(archiveDir, schema);
    const manifest = readManifest(folder)!;
    expect(manifest.files.every((f) => f.state === 'dropped')).toBe(true);
    expect(manifest.files.reduce((a, f) => a + f.rows, 0)).toBe(frozenRows.length);
    await migrate(pool, { ...settings, schema: `${schema}_restore` });
    const writer = new EventWriter({ pool, schema: `${schema}_restore`, chunkInterval: '1 day' });
    for (const f of manifest.files) {
      expect(await verifyArchiveFile(join(folder, f.file))).toEqual({ ok: true, entry: f });
      expect(await importArchive(join(folder, f.file), writer)).toBe(f.rows);
    }
    await importArchive(join(folder, manifest.files[0]!.file), writer); // a second import adds nothing
    await writer.close();
    expect(await rowsJson(`${schema}_restore`)).toEqual(frozenRows);
  });

  it('refuses a truncated, altered or unlisted archive file and restores nothing', async () => {
    const folder = archiveFolder(archiveDir, schema);
    const entry = readManifest(folder)!.files[0]!;
    const manifestText = readFileSync(join(folder, 'manifest.json'), 'utf8');
    // Each case gets a copy of one archive file and its manifest, spoilt in one way.
    const spoilt = (spoil: (file: string, manifest: ArchiveManifest) => ArchiveManifest | null) => {
      const dir = mkdtempSync(join(archiveDir, 'tampered-'));
      const file = join(dir, entry.file);
      copyFileSync(join(folder, entry.file), file);
      const manifest = spoil(file, JSON.parse(manifestText) as ArchiveManifest);
      if (manifest !== null) writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      return file;
    };
    const flipByte = (file: string) => {
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1]! ^= 0x01;
      writeFileSync(file, bytes);
    };
    const cases: Array<[ArchiveProblem, string]> = [
      [
        'size_mismatch',
        spoilt((file, m) => {
          truncateSync(file, statSync(file).size - 100);
          return m;
        }),
      ],
      [
        'sha256_mismatch',
        spoilt((file, m) => {
          flipByte(file);
          return m;
        }),
      ],
      [
        'rows_mismatch',
        spoilt((_file, m) => ({
          ...m,
          files: m.files.map((f) => (f.file === entry.file ? { ...f, rows: f.rows + 1 } : f)),
        })),
      ],
      [
        'undecodable',
        spoilt((file, m) => {
          // Bytes that are not zstd, with a manifest entry that matches them: caught by decoding.
          const junk = Buffer.alloc(entry.bytes, 0x5a);
          writeFileSync(file, junk);
          const sha256 = createHash('sha256').update(junk).digest('hex');
          return { ...m, files: m.files.map((f) => (f.file === entry.file ? { ...f, sha256 } : f)) };
        }),
      ],
      ['no_manifest', spoilt(() => null)],
      [
        'not_in_manifest',
        spoilt((_file, m) => ({ ...m, files: m.files.filter((f) => f.file !== entry.file) })),
      ],
    ];
    const unreadable = spoilt(() => null);
    writeFileSync(join(unreadable, '..', 'manifest.json'), '{"files": [');
    cases.push(['manifest_unreadable', unreadable]);

    const written: NormalizedEvent[] = [];
    const sink = { writeBatch: async (b: NormalizedEvent[]) => void written.push(...b) };
    for (const [problem, file] of cases) {
      expect(await verifyArchiveFile(file), problem).toMatchObject({ ok: false, problem });
      await expect(importArchive(file, sink), problem).rejects.toMatchObject({
        code: 'SIEM_ERR_ARCHIVE_INVALID',
        details: { problem },
      });
    }
    expect(written).toEqual([]);

    // The same through the event writer into an empty schema: not one row.
    const restore = `${schema}_refused`;
    await migrate(pool, { ...settings, schema: restore });
    const writer = new EventWriter({ pool, schema: restore, chunkInterval: '1 day' });
    try {
      await expect(importArchive(cases[1]![1], writer)).rejects.toMatchObject({
        code: 'SIEM_ERR_ARCHIVE_INVALID',
      });
    } finally {
      await writer.close();
    }
    expect(await rowsJson(restore)).toEqual([]);

    // The untouched copy, moved to a folder of its own with its manifest, still restores.
    const intact = spoilt((_file, m) => m);
    const moved = join(mkdtempSync(join(archiveDir, 'moved-')), entry.file);
    renameSync(intact, moved);
    copyFileSync(join(intact, '..', 'manifest.json'), join(moved, '..', 'manifest.json'));
    expect(await importArchive(moved, sink)).toBe(entry.rows);
    expect(written).toHaveLength(entry.rows);
  });

  it('has nothing left to do on the next run, and lets one runner work at a time', async () => {
    const [a, b] = await Promise.all([runTiers(pool, settings), runTiers(pool, settings)]);
    expect([a.skipped, b.skipped].sort()).toEqual(['locked', null]);
    const ran = a.skipped === null ? a : b;
    expect(ran.errors).toEqual([]);
    expect({
      compressed: ran.compressed,
      moved: ran.moved,
      exported: ran.exported.length,
      dropped: ran.dropped,
    }).toEqual({
      compressed: 0,
      moved: 0,
      exported: 0,
      dropped: 0,
    });
  });

  it('archives late rows for a range already frozen without losing the rollups’ earlier counts', async () => {
    const daily = async () =>
      Number(
        (
          await pool.query(
            `select coalesce(sum(events), 0) as n from "${schema}".events_daily where bucket < now() - interval '95 days'`,
          )
        ).rows[0].n,
      );
    const before = await daily();
    const day = Math.floor((now - 100 * DAY) / DAY) * DAY; // inside one chunk: one late chunk
    const late = sampleBatch(
      { ...o, seed: 0x1a7e, fromMs: day + 3_600_000, toMs: day + 7_200_000, count: 50 },
      0,
      50,
    );
    const writer = new EventWriter({ pool, schema, chunkInterval: '1 day' });
    await writer.writeBatch(late);
    await writer.close();
    const report = await runTiers(pool, settings);
    expect(report.errors).toEqual([]);
    expect(report.exported.map((f) => f.rows)).toEqual([50]);
    expect(report.dropped).toBe(1);
    // PostgreSQL adds the late rows to the rollups; a continuous aggregate cannot take them without
    // recomputing the range from the late rows alone, so there they stay out (and in the archive).
    expect(await daily()).toBe(before + (engine === 'postgres' ? 50 : 0));
    const manifest = readManifest(archiveFolder(archiveDir, schema))!;
    expect(manifest.files.reduce((a, f) => a + f.rows, 0)).toBe(frozenRows.length + 50);
  });
}

describe('tiers on the TimescaleDB engine (hypertable, columnstore, continuous aggregates)', () => {
  const schema = uniqueName('siem_test_tiers');
  tierScenario('timescaledb', () => ({ url: stackUrls.timescale, schema }));
});

describe('tiers on PostgreSQL 15 (native partitions, rollup tables)', () => {
  let db: { url: string; drop(): Promise<void> } | null = null;
  beforeAll(async () => {
    db = await createScratchDatabase(stackUrls.postgres, 'siem_test_tiers');
  });
  afterAll(async () => {
    await db?.drop();
  });
  tierScenario('postgres', () => ({ url: db!.url, schema: 'siem' }));
});
