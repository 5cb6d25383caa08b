import { setTimeout as sleep } from 'node:timers/promises';
import { isSiemError } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { type SliceOptions, scanNewestFirst, type TimeWindow } from './time-slices.js';

const MIN = 60_000;

/** Rows spread evenly, `perMs` per millisecond over [fromMs, toMs) (and none elsewhere), as a probe counts them. */
const density =
  (perMs: number, fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY) =>
  (w: TimeWindow) =>
    Math.round(perMs * Math.max(0, Math.min(w.toMs, toMs) - Math.max(w.fromMs, fromMs)));

function options(rows: (w: TimeWindow) => number, over: Partial<SliceOptions> = {}): SliceOptions {
  return {
    initialMs: 5 * MIN,
    timeoutMs: 10_000,
    timeoutMessage: 'too slow',
    probe: async (w) => ({ rows: Math.min(rows(w), 4_001), bytes: 0 }),
    budget: { rows: 4_000, bytes: 1_000_000 },
    ...over,
  };
}

async function windows(lo: number, hi: number, o: SliceOptions): Promise<TimeWindow[]> {
  const seen: TimeWindow[] = [];
  await scanNewestFirst(lo, hi, o, async (w) => {
    seen.push(w);
    return false;
  });
  return seen;
}

describe('scanNewestFirst', () => {
  it('covers the range newest first in contiguous windows, growing them across an empty stretch', async () => {
    const seen = await windows(
      0,
      1_000 * MIN,
      options(() => 0),
    );
    expect(seen[0]).toEqual({ fromMs: 995 * MIN, toMs: 1_000 * MIN });
    expect(seen.at(-1)!.fromMs).toBe(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.toMs).toBe(seen[i - 1]!.fromMs);
    // each window four times the last (the last one is cut at the range's start)
    expect(seen.slice(0, 4).map((w) => w.toMs - w.fromMs)).toEqual([5 * MIN, 20 * MIN, 80 * MIN, 320 * MIN]);
    expect(seen).toHaveLength(5);
  });

  it('sizes windows by what they hold: half the budget where the rows are even', async () => {
    // 1 row per 100 ms: a 5 min window holds 3,000, over half the budget of 4,000
    const rows = density(0.01);
    const read: number[] = [];
    await scanNewestFirst(0, 60 * MIN, options(rows), async (w) => {
      read.push(rows(w));
      return false;
    });
    expect(read[0]).toBe(3_000);
    expect(read.slice(1, -1).every((n) => n === 2_000)).toBe(true);
    expect(read.reduce((a, b) => a + b)).toBe(36_000);
  });

  it('narrows a window over budget before reading it: a burst after a quiet stretch', async () => {
    // 100,000 rows in [600 min, 600 min + 1 s), none elsewhere
    const rows = density(100, 600 * MIN, 600 * MIN + 1_000);
    const read: number[] = [];
    await scanNewestFirst(0, 1_000 * MIN, options(rows), async (w) => {
      read.push(rows(w));
      return false;
    });
    expect(read.reduce((a, b) => a + b)).toBe(100_000);
    expect(Math.max(...read)).toBeLessThanOrEqual(4_000);
  });

  it('reads a window narrowed to the smallest (10 ms) whatever it holds, so the scan moves on', async () => {
    const seen = await windows(0, 100, options(density(1_000)));
    expect(seen.map((w) => w.toMs - w.fromMs)).toEqual(Array(10).fill(10));
  });

  it('counts bytes as well as rows', async () => {
    // few rows, but 1 MB of text per second
    const o = options(() => 0, {
      probe: async (w) => ({ rows: 1, bytes: (w.toMs - w.fromMs) * 1_000 }),
      budget: { rows: 4_000, bytes: 1_000_000 },
    });
    const seen = await windows(0, 10_000, o);
    expect(Math.max(...seen.map((w) => w.toMs - w.fromMs))).toBeLessThanOrEqual(1_000);
  });

  it('moves on whatever the budget and bounds: a zero budget, a zero narrowest window, no infinite bounds', async () => {
    const zero = options(() => 5, {
      probe: async () => ({ rows: 5, bytes: 5 }),
      budget: { rows: 0, bytes: 0 },
      minWindowMs: 0,
    });
    const seen = await windows(0, 5, zero);
    expect(seen.map((w) => w.toMs - w.fromMs)).toEqual([1, 1, 1, 1, 1]);
    await expect(
      windows(
        0,
        Number.POSITIVE_INFINITY,
        options(() => 0),
      ),
    ).rejects.toThrow(RangeError);
  });

  it('reads the future (rows later than now are rare) as the first window, then from now on', async () => {
    const seen: TimeWindow[] = [];
    await scanNewestFirst(
      0,
      1_000 * MIN,
      options(() => 0, { nowMs: 400 * MIN }),
      async (w) => {
        seen.push(w);
        return seen.length === 2;
      },
    );
    expect(seen).toEqual([
      { fromMs: 400 * MIN, toMs: 1_000 * MIN },
      { fromMs: 395 * MIN, toMs: 400 * MIN },
    ]);
  });

  it('stops when the slice says it is done', async () => {
    let calls = 0;
    await scanNewestFirst(
      0,
      1_000 * MIN,
      options(() => 0),
      async () => ++calls === 2,
    );
    expect(calls).toBe(2);
  });

  it('enforces the timeout between slices, not after the last one', async () => {
    let calls = 0;
    const err = await scanNewestFirst(
      0,
      1_000 * MIN,
      options(() => 0, { timeoutMs: 30 }),
      async () => {
        calls++;
        await sleep(20);
        return false;
      },
    ).catch((e: unknown) => e);
    expect(isSiemError(err, 'SIEM_ERR_TIMEOUT')).toBe(true);
    expect(calls).toBe(2);
    // a range covered by one slow slice is answered: there is nothing left to give up on
    await expect(
      scanNewestFirst(
        0,
        MIN,
        options(() => 0, { timeoutMs: 1 }),
        async () => {
          await sleep(10);
          return false;
        },
      ),
    ).resolves.toBeUndefined();
  });
});
