import { setTimeout as sleep } from 'node:timers/promises';
import { isSiemError } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { scanNewestFirst } from './time-slices.js';

const MIN = 60_000;
const options = { targetMs: 50, initialMs: 5 * MIN, timeoutMs: 10_000, timeoutMessage: 'too slow' };

describe('scanNewestFirst', () => {
  it('covers the range newest first in contiguous windows, growing them while slices are fast', async () => {
    const windows: Array<[number, number]> = [];
    await scanNewestFirst(0, 1_000 * MIN, options, async (w) => {
      windows.push([w.fromMs, w.toMs]);
      return false;
    });
    expect(windows[0]).toEqual([995 * MIN, 1_000 * MIN]);
    expect(windows.at(-1)![0]).toBe(0);
    for (let i = 1; i < windows.length; i++) expect(windows[i]![1]).toBe(windows[i - 1]![0]);
    const widths = windows.map(([a, b]) => b - a);
    // fast slices: each window four times the last (the last one is cut at the range's start)
    expect(widths.slice(0, 4)).toEqual([5 * MIN, 20 * MIN, 80 * MIN, 320 * MIN]);
    expect(windows.length).toBe(5);
  });

  it('shrinks the window after a slow slice, never below 10 ms', async () => {
    const widths: number[] = [];
    await scanNewestFirst(0, 8_600, { ...options, targetMs: 1, initialMs: 8_000 }, async (w) => {
      widths.push(w.toMs - w.fromMs);
      await sleep(20);
      return false;
    });
    expect(widths.slice(0, 4)).toEqual([8_000, 500, 31, 10]);
    expect(widths.slice(3, -1).every((w) => w === 10)).toBe(true);
    expect(widths.reduce((a, b) => a + b)).toBe(8_600);
  });

  it('takes the future (rows later than now are rare) into the first window', async () => {
    const windows: Array<[number, number]> = [];
    await scanNewestFirst(0, 1_000 * MIN, { ...options, nowMs: 400 * MIN }, async (w) => {
      windows.push([w.fromMs, w.toMs]);
      return windows.length === 2;
    });
    expect(windows).toEqual([
      [395 * MIN, 1_000 * MIN],
      [375 * MIN, 395 * MIN],
    ]);
  });

  it('narrows a window the probe finds over budget before reading it', async () => {
    // a quiet range with a burst: 100,000 rows in [600 min, 600 min + 1 s)
    const burst = { fromMs: 600 * MIN, toMs: 600 * MIN + 1_000 };
    const held = (w: { fromMs: number; toMs: number }) => {
      const overlap = Math.max(0, Math.min(w.toMs, burst.toMs) - Math.max(w.fromMs, burst.fromMs));
      return Math.round((100_000 * overlap) / 1_000);
    };
    const read: number[] = [];
    await scanNewestFirst(
      0,
      1_000 * MIN,
      { ...options, probe: async (w) => ({ rows: held(w), bytes: 0 }), budget: { rows: 4_000, bytes: 1 } },
      async (w) => {
        read.push(held(w));
        return false;
      },
    );
    expect(read.reduce((a, b) => a + b)).toBe(100_000);
    // no slice read more than the budget, down to the narrowest window (10 ms: 1,000 rows here)
    expect(Math.max(...read)).toBeLessThanOrEqual(4_000);
  });

  it('stops when the slice says it is done', async () => {
    let calls = 0;
    await scanNewestFirst(0, 1_000 * MIN, options, async () => ++calls === 2);
    expect(calls).toBe(2);
  });

  it('enforces the timeout between slices, not after the last one', async () => {
    let calls = 0;
    const err = await scanNewestFirst(0, 1_000 * MIN, { ...options, timeoutMs: 30 }, async () => {
      calls++;
      await sleep(20);
      return false;
    }).catch((e: unknown) => e);
    expect(isSiemError(err, 'SIEM_ERR_TIMEOUT')).toBe(true);
    expect(calls).toBe(2);
    // a range covered by one slow slice is answered: there is nothing left to give up on
    await expect(
      scanNewestFirst(0, MIN, { ...options, timeoutMs: 1 }, async () => {
        await sleep(10);
        return false;
      }),
    ).resolves.toBeUndefined();
  });
});
