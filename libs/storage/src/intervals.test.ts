import { describe, expect, it } from 'vitest';
import { checkTierAges, chooseChunkInterval, intervalMs } from './intervals.js';

describe('intervals', () => {
  it('reads the interval texts of the configuration', () => {
    expect(intervalMs('7 days')).toBe(7 * 86_400_000);
    expect(intervalMs('1 hour')).toBe(3_600_000);
    expect(intervalMs('2 weeks')).toBe(14 * 86_400_000);
    expect(intervalMs('30minutes')).toBe(30 * 60_000);
    expect(() => intervalMs('1 month')).toThrow(/not an interval/);
  });

  it('sizes the chunk width from the ingest rate, in whole hours', () => {
    expect(chooseChunkInterval('auto', 20, 2048)).toBe('1 day');
    expect(chooseChunkInterval('auto', 200, 2048)).toBe('3 hours');
    expect(chooseChunkInterval('auto', 100_000, 2048)).toBe('1 hour'); // never below an hour
    expect(chooseChunkInterval('auto', 1, 2048)).toBe('7 days');
    expect(chooseChunkInterval('12 hours', 100_000, 16)).toBe('12 hours');
  });

  it('refuses tier ages that decrease', () => {
    expect(() =>
      checkTierAges({ warmAfter: '7 days', coldAfter: '30 days', frozenAfter: '90 days' }),
    ).not.toThrow();
    expect(() =>
      checkTierAges({ warmAfter: '31 days', coldAfter: '30 days', frozenAfter: '90 days' }),
    ).toThrow(/must not decrease/);
  });
});
