import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BufferRecord, OfferResult } from '@siem/core';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBuffer } from './event-buffer.js';
import { drainAll, removeTempDirs, tempDir, testOptions } from './testing/helpers.js';

/**
 * A real full disk (ENOSPC) from a tiny tmpfs, not a cap: the writer fails, the buffer must keep
 * serving, push back, recover when space comes back, and start on a disk that is already full.
 * Mounting needs root (CI runs as root); elsewhere these tests are skipped, and the cap tests in
 * event-buffer.test.ts still cover both full-disk policies.
 */

function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mounts: string[] = [];
function smallDisk(size: string): string | null {
  const dir = join(tempDir('siem-buffer-enospc-'), 'fs');
  mkdirSync(dir);
  if (!tryMount(dir, size)) return null;
  mounts.push(dir);
  return dir;
}
const canMount = (() => {
  const dir = smallDisk('64k');
  return dir !== null;
})();

afterAll(() => {
  for (const dir of mounts) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  removeTempDirs();
});

const incompressible = (n: number): BufferRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `h${i % 3}`, value: randomBytes(500) }));

/** Fills the filesystem of `dir` with one file until it refuses; returns the file. */
function fillUp(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
  return file;
}

describe.skipIf(!canMount)('buffer on a disk that fills up (tmpfs, ENOSPC)', () => {
  it('keeps serving, pushes back, and recovers when space comes back', async () => {
    const dir = smallDisk('512k')!;
    const b = new EventBuffer(
      testOptions(dir, {
        max_events: 200,
        max_disk_bytes: 64 * 1024 * 1024, // far above the filesystem: the disk itself runs out
        segment_max_bytes: 64 * 1024,
        frame_max_bytes: 8 * 1024,
        when_full: 'block',
      }),
      { name: 'enospc' },
    );
    await b.open();
    const results: OfferResult[] = [];
    let taken = 0;
    for (let i = 0; i < 2000 && results.at(-1) !== 'rejected'; i++) {
      const r = b.offer(incompressible(10));
      results.push(r);
      if (r !== 'rejected') taken += 10;
      await new Promise((resolve) => setTimeout(resolve, 2)); // let the writer keep up: only ENOSPC stops it
    }
    expect(results).toContain('pause');
    expect(results.at(-1)).toBe('rejected');
    expect(b.stats().diskErrors).toBeGreaterThan(0);
    expect(b.stats().diskHealthy).toBe(false);
    // Everything taken comes out, including frames the disk refused (read from the write queue).
    expect((await drainAll(b, 100, 500)).length).toBe(taken);
    // Acked segments are deleted, the stuck write goes through, the disk is usable again.
    for (let i = 0; i < 100 && !b.stats().diskHealthy; i++) await new Promise((r) => setTimeout(r, 100));
    expect(b.stats().diskHealthy).toBe(true);
    expect(b.offer(incompressible(5))).toBe('ok');
    await b.close();
  }, 60_000);

  it('starts on a disk that is already full and replays what it holds', async () => {
    const dir = smallDisk('256k')!;
    const options = testOptions(dir, { max_events: 1, segment_max_bytes: 16 * 1024, frame_max_bytes: 4096 });
    const first = new EventBuffer(options, { name: 'enospc-start-1' });
    await first.open();
    first.offer(incompressible(40));
    await first.flush();
    await first.close();
    const filler = fillUp(dir);

    const b = new EventBuffer({ ...options, max_events: 100 }, { name: 'enospc-start-2' });
    await b.open(); // must not throw
    b.offer(incompressible(10));
    const out = await drainAll(b, 100, 500);
    expect(out.length).toBe(50);
    rmSync(filler);
    await b.close();
  }, 60_000);
});
