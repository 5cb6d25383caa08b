import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricsRegistry } from '@siem/observability';
import { afterAll, describe, expect, it } from 'vitest';
import { FileDeadLetters } from './file-dead-letters.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'siem-dlq-'));
  dirs.push(d);
  return d;
}

async function pruned(reason: string): Promise<number> {
  const m = await metricsRegistry.getSingleMetric('siem_dead_letters_pruned_records_total')?.get();
  return m?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function lines(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
}

const record = (i: number) => ({ key: `k${i}`, value: Buffer.from(`record ${i} ${'x'.repeat(200)}`) });

describe('FileDeadLetters', () => {
  it('keeps the folder under max_bytes (plus the file being written), oldest first, every deletion counted', async () => {
    const dir = tempDir();
    const maxBytes = 40_000;
    const dlq = new FileDeadLetters(dir, { maxBytes, retentionDays: 14 });
    const before = await pruned('cap');
    const written = 600;
    for (let i = 0; i < written; i++) await dlq.deadLetter([record(i)], 'normalize_failed', 'bad');
    const total = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(maxBytes + 4096 + 400);
    const kept = lines(dir).map((l) => JSON.parse(l) as { key: string; reason: string });
    // the newest survive, in order, and every one deleted was counted
    expect(kept.at(-1)).toMatchObject({ key: `k${written - 1}`, reason: 'normalize_failed' });
    expect(kept.map((k) => k.key)).toEqual(
      Array.from({ length: kept.length }, (_, j) => `k${written - kept.length + j}`),
    );
    expect((await pruned('cap')) - before).toBe(written - kept.length);
    expect(readdirSync(dir).every((f) => /^\d{4}-\d{2}-\d{2}(\.\d+)?\.ndjson$/.test(f))).toBe(true);
  });

  it('deletes files past retention_days and counts their records', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '2020-01-01.ndjson'), '{"a":1}\n{"a":2}\n{"a":3}\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a dead-letter file: left alone\n');
    const before = await pruned('retention');
    const dlq = new FileDeadLetters(dir, { maxBytes: 1 << 30, retentionDays: 14 });
    await dlq.deadLetter([record(1)], 'invalid_raw_event', 'x');
    expect(readdirSync(dir).sort()).toEqual([`${new Date().toISOString().slice(0, 10)}.ndjson`, 'notes.txt']);
    expect((await pruned('retention')) - before).toBe(3);
  });

  it('rejects when a letter cannot be written, so the batch is retried rather than acknowledged', async () => {
    const dir = tempDir();
    const target = join(dir, 'letters');
    const dlq = new FileDeadLetters(target, { maxBytes: 1 << 20, retentionDays: 1 });
    rmSync(target, { recursive: true });
    writeFileSync(target, 'a file where the folder was');
    await expect(dlq.deadLetter([record(1)], 'store_rejected', 'x')).rejects.toThrow();
  });
});
