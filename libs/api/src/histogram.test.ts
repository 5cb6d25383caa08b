import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, parseInterval, planHistogram } from './histogram.js';

const T0 = Date.UTC(2025, 0, 1);

describe('parseInterval', () => {
  it('reads s, m, h, d, w and refuses the rest', () => {
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('1h')).toBe(HOUR_MS);
    expect(parseInterval('1d')).toBe(DAY_MS);
    expect(parseInterval('2w')).toBe(14 * DAY_MS);
    expect(parseInterval('0h')).toBeNull();
    expect(parseInterval('1 hour')).toBeNull();
    expect(parseInterval('1mo')).toBeNull();
  });
});

describe('planHistogram', () => {
  it('counts whole days from the daily rollup, whole hours from the hourly one, the ragged ends raw', () => {
    const plan = planHistogram({
      fromMs: T0 + 90 * 60_000, // 01:30 on day 0
      toMs: T0 + 3 * DAY_MS + 30 * 60_000, // 00:30 on day 3
      intervalMs: DAY_MS,
      rollupsUsable: true,
      horizonMs: Number.POSITIVE_INFINITY,
    });
    expect(plan).toEqual([
      { source: 'raw', fromMs: T0 + 90 * 60_000, toMs: T0 + 2 * HOUR_MS },
      { source: 'hourly', fromMs: T0 + 2 * HOUR_MS, toMs: T0 + DAY_MS },
      { source: 'daily', fromMs: T0 + DAY_MS, toMs: T0 + 3 * DAY_MS },
      { source: 'raw', fromMs: T0 + 3 * DAY_MS, toMs: T0 + 3 * DAY_MS + 30 * 60_000 },
    ]);
  });

  it('reads raw rows only when the interval is not a whole number of hours or the filters need raw columns', () => {
    const range = { fromMs: T0, toMs: T0 + 2 * DAY_MS, horizonMs: Number.POSITIVE_INFINITY };
    expect(planHistogram({ ...range, intervalMs: 30 * 60_000, rollupsUsable: true })).toEqual([
      { source: 'raw', fromMs: T0, toMs: T0 + 2 * DAY_MS },
    ]);
    expect(planHistogram({ ...range, intervalMs: DAY_MS, rollupsUsable: false })).toEqual([
      { source: 'raw', fromMs: T0, toMs: T0 + 2 * DAY_MS },
    ]);
  });

  it('counts raw after the horizon where the PostgreSQL rollups stop', () => {
    const plan = planHistogram({
      fromMs: T0,
      toMs: T0 + 10 * HOUR_MS,
      intervalMs: HOUR_MS,
      rollupsUsable: true,
      horizonMs: T0 + 6 * HOUR_MS,
    });
    expect(plan).toEqual([
      { source: 'hourly', fromMs: T0, toMs: T0 + 6 * HOUR_MS },
      { source: 'raw', fromMs: T0 + 6 * HOUR_MS, toMs: T0 + 10 * HOUR_MS },
    ]);
  });

  it('always covers the range exactly, with every rollup segment on its own boundaries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 * DAY_MS }),
        fc.integer({ min: 1, max: 40 * DAY_MS }),
        fc.constantFrom(60_000, HOUR_MS, 3 * HOUR_MS, DAY_MS, 7 * DAY_MS),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 80 * DAY_MS }), { nil: Number.POSITIVE_INFINITY }),
        (from, span, intervalMs, rollupsUsable, horizon) => {
          const fromMs = T0 + from;
          const toMs = fromMs + span;
          const plan = planHistogram({ fromMs, toMs, intervalMs, rollupsUsable, horizonMs: T0 + horizon });
          expect(plan[0]!.fromMs).toBe(fromMs);
          expect(plan[plan.length - 1]!.toMs).toBe(toMs);
          for (let i = 0; i < plan.length; i++) {
            const s = plan[i]!;
            expect(s.fromMs).toBeLessThan(s.toMs);
            if (i > 0) expect(s.fromMs).toBe(plan[i - 1]!.toMs);
            if (s.source !== 'raw') {
              const width = s.source === 'daily' ? DAY_MS : HOUR_MS;
              expect(intervalMs % width).toBe(0);
              expect(s.fromMs % width).toBe(0);
              expect(s.toMs % width).toBe(0);
              expect(s.toMs).toBeLessThanOrEqual(T0 + horizon);
            }
          }
        },
      ),
    );
  });
});
