import type { Lease } from '@siem/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBuffer, type EventBufferOptions } from './event-buffer.js';
import { drainAll, idOf, makeRecords, removeTempDirs, tempDir, testOptions } from './testing/helpers.js';

/**
 * Model-based tests: random interleavings of offer / take / ack / nack / restart (and crash), checked
 * against what the buffer promises. Small ring, frames and segments, so that every run crosses the
 * memory/disk boundary, rotates segments and deletes them.
 */

type Cmd =
  | { op: 'offer'; n: number }
  | { op: 'take'; max: number }
  | { op: 'ack'; pick: number }
  | { op: 'nack'; pick: number }
  | { op: 'restart' }
  | { op: 'crash' };

const small: Partial<EventBufferOptions> = {
  max_events: 8,
  max_memory_bytes: 1 << 20,
  frame_max_bytes: 300,
  segment_max_bytes: 1200,
  close_drain_ms: 0,
  spill_linger_ms: 1,
};

const offer = fc.record({ op: fc.constant('offer' as const), n: fc.integer({ min: 1, max: 12 }) });
const take = fc.record({ op: fc.constant('take' as const), max: fc.integer({ min: 1, max: 12 }) });
const ack = fc.record({ op: fc.constant('ack' as const), pick: fc.nat() });
const nack = fc.record({ op: fc.constant('nack' as const), pick: fc.nat() });
const restart = fc.constant({ op: 'restart' as const });
/** Scenario lengths spread over the whole range (fast-check otherwise favours short arrays). */
const SCENARIO = { minLength: 5, maxLength: 60, size: 'max' } as const;
const crash = fc.constant({ op: 'crash' as const });

interface Run {
  accepted: string[];
  /** Ids in the order leases handed them out (including redeliveries). */
  handedOut: string[];
  acked: string[];
  redeliveredAfterCrash: number;
}

async function execute(commands: Cmd[], overrides: Partial<EventBufferOptions>): Promise<Run> {
  const dir = tempDir('siem-buffer-prop-');
  const options = testOptions(dir, { ...small, ...overrides });
  let b = new EventBuffer(options, { name: 'property' });
  await b.open();
  const run: Run = { accepted: [], handedOut: [], acked: [], redeliveredAfterCrash: 0 };
  let next = 0;
  // Events the buffer holds that no outstanding lease covers: a take must then return promptly.
  let available = 0;
  let outstanding: Lease[] = [];
  const reopen = async () => {
    run.redeliveredAfterCrash += b.stats().redeliveredAfterCrash;
    b = new EventBuffer(options, { name: 'property' });
    await b.open();
  };
  for (const cmd of commands) {
    switch (cmd.op) {
      case 'offer': {
        const records = makeRecords('p', next, cmd.n, 40, 3);
        next += cmd.n;
        const result = b.offer(records);
        expect(result).not.toBe('rejected');
        run.accepted.push(...records.map(idOf));
        available += cmd.n;
        break;
      }
      case 'take': {
        if (available === 0) break;
        const lease = (await b.next(cmd.max))!;
        expect(lease.records.length).toBeGreaterThan(0);
        expect(lease.records.length).toBeLessThanOrEqual(cmd.max);
        run.handedOut.push(...lease.records.map(idOf));
        available -= lease.records.length;
        outstanding.push(lease);
        break;
      }
      case 'ack':
      case 'nack': {
        if (outstanding.length === 0) break;
        const [lease] = outstanding.splice(cmd.pick % outstanding.length, 1);
        if (cmd.op === 'ack') {
          b.ack(lease!);
          run.acked.push(...lease!.records.map(idOf));
        } else {
          b.nack(lease!);
          available += lease!.records.length;
        }
        break;
      }
      case 'restart': {
        await b.close();
        for (const lease of outstanding) available += lease.records.length;
        outstanding = [];
        await reopen();
        break;
      }
      case 'crash': {
        // What the property promises across a crash is about completed writes: make them complete.
        await b.flush();
        await b.abandon();
        for (const lease of outstanding) available += lease.records.length;
        outstanding = [];
        await reopen();
        break;
      }
    }
  }
  for (const lease of outstanding) {
    b.ack(lease);
    run.acked.push(...lease.records.map(idOf));
  }
  // Take exactly what the model says is left, then check that nothing more comes.
  while (available > 0) {
    const lease = (await b.next(16))!;
    run.acked.push(...lease.records.map(idOf));
    run.handedOut.push(...lease.records.map(idOf));
    available -= lease.records.length;
    b.ack(lease);
  }
  const extra = await drainAll(b, 16, 20);
  run.acked.push(...extra.map(idOf));
  run.handedOut.push(...extra.map(idOf));
  run.redeliveredAfterCrash += b.stats().redeliveredAfterCrash;
  await b.close();
  removeTempDirs();
  return run;
}

const counts = (ids: string[]) => {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
};

describe('EventBuffer properties', () => {
  it('any interleaving of offer/take/ack/nack/restart acknowledges every accepted event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(offer, offer, take, take, ack, ack, nack, restart), SCENARIO),
        async (cmds) => {
          const run = await execute(cmds, {});
          expect([...run.acked].sort()).toEqual([...run.accepted].sort());
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);

  it('without nacks, events come out in the order they went in, across graceful restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(offer, offer, take, ack, restart), SCENARIO), async (cmds) => {
        const run = await execute(cmds, {});
        // A lease taken back at a restart is handed out again first: drop such repeats, keep firsts.
        const seen = new Set<string>();
        const firsts = run.handedOut.filter((id) => !seen.has(id) && seen.add(id) !== undefined);
        expect(firsts).toEqual(run.accepted);
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  it('across crashes every written event is delivered at least once, and every duplicate is counted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(offer, offer, take, take, ack, ack, nack, restart, crash), SCENARIO),
        async (cmds) => {
          // Disk only: every accepted event is written (memory is what a crash loses by design).
          const run = await execute(cmds, { max_events: 1 });
          const acked = counts(run.acked);
          for (const id of run.accepted) expect(acked.get(id) ?? 0).toBeGreaterThanOrEqual(1);
          let duplicates = 0;
          for (const n of acked.values()) duplicates += n - 1;
          expect(duplicates).toBeLessThanOrEqual(run.redeliveredAfterCrash);
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);
});
