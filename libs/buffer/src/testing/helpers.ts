import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BufferRecord } from '@siem/core';
import type { EventBufferOptions } from '../event-buffer.js';
import { defaultBufferOptions } from '../options.js';

const made: string[] = [];

/** A fresh directory under the system temp folder, unique per call; `removeTempDirs` deletes them. */
export function tempDir(prefix = 'siem-buffer-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function testOptions(dir: string, overrides: Partial<EventBufferOptions> = {}): EventBufferOptions {
  return { ...defaultBufferOptions(), sync_interval_ms: 0, spill_linger_ms: 5, ...overrides, dir };
}

/**
 * Records whose value names them (`<prefix>-<n>.`), padded to `size` bytes (with dots, or with random
 * hex when `random`, so they do not compress); keys cycle over `keys` hosts.
 */
export function makeRecords(
  prefix: string,
  from: number,
  count: number,
  size = 64,
  keys = 4,
  random = false,
): BufferRecord[] {
  const out: BufferRecord[] = [];
  for (let i = from; i < from + count; i++) {
    const id = `${prefix}-${i}.`;
    const pad = Math.max(0, size - id.length);
    const tail = random
      ? randomBytes(Math.ceil(pad / 2))
          .toString('hex')
          .slice(0, pad)
      : '.'.repeat(pad);
    out.push({ key: `host-${i % keys}`, value: Buffer.from(id + tail) });
  }
  return out;
}

/** The id a record was made with (see makeRecords). */
export function idOf(r: BufferRecord): string {
  const v = r.value.toString('latin1');
  const dot = v.indexOf('.');
  return dot === -1 ? v : v.slice(0, dot);
}

/**
 * An abort signal that fires after `ms`, on a timer that keeps the process alive (AbortSignal.timeout's
 * does not: a script whose only work is waiting on it would exit mid-wait).
 */
export function timeout(ms: number): AbortSignal {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error(`no data within ${ms} ms`)), ms);
  return ac.signal;
}

interface LeaseLike {
  readonly records: readonly BufferRecord[];
}
interface Consumer {
  next(max: number, signal?: AbortSignal): Promise<LeaseLike | null>;
  ack(lease: LeaseLike): void;
}

/** Takes and acks leases until none comes within `idleMs`; returns the records in delivery order. */
export async function drainAll(buffer: Consumer, max = 50, idleMs = 150): Promise<BufferRecord[]> {
  const out: BufferRecord[] = [];
  for (;;) {
    let lease: LeaseLike | null;
    try {
      lease = await buffer.next(max, timeout(idleMs));
    } catch {
      return out;
    }
    if (lease === null) return out;
    out.push(...lease.records);
    buffer.ack(lease);
  }
}
