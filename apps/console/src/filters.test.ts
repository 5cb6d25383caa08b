import { describe, expect, it } from 'vitest';
import { apiQuery, intervalFor, paramsFromValues, rangeOf, valuesFromParams } from '../web/filters.js';

/* The search and tail forms' round trip through the URL, and the API query made of it (plain logic: no browser). */

describe('console filters', () => {
  it('round-trips the form through the URL, repeating list parameters and keeping single ones whole', () => {
    const p = paramsFromValues({
      q: 'failed, password',
      host: 'fw1, fw2 ,',
      severity: 'error',
      range: '15m',
    });
    expect(p.toString()).toBe('range=15m&q=failed%2C+password&host=fw1&host=fw2&severity=error');
    expect(valuesFromParams(p)).toEqual({
      q: 'failed, password',
      host: 'fw1, fw2',
      severity: 'error',
      range: '15m',
    });
  });

  it('prefers a custom range to a preset, and defaults to the last hour', () => {
    const custom = paramsFromValues({
      range: '1h',
      from: '2026-01-02T03:00:00.000Z',
      to: '2026-01-02T04:00:00.000Z',
    });
    expect(custom.get('range')).toBeNull();
    expect(rangeOf(custom)).toEqual({
      fromMs: Date.parse('2026-01-02T03:00:00Z'),
      toMs: Date.parse('2026-01-02T04:00:00Z'),
    });
    expect(valuesFromParams(new URLSearchParams()).range).toBe('1h');
    expect(rangeOf(new URLSearchParams('range=24h'), 100_000_000)).toEqual({
      fromMs: 13_600_000,
      toMs: 100_000_000,
    });
  });

  it('makes the API query: filters as given, the range resolved to absolute times, page-only keys left out', () => {
    const q = apiQuery(
      new URLSearchParams('range=15m&host=a&host=b&page_size=9'),
      true,
      Date.parse('2026-01-01T00:15:00Z'),
    );
    expect(q.getAll('host')).toEqual(['a', 'b']);
    expect(q.get('from')).toBe('2026-01-01T00:00:00.000Z');
    expect(q.get('to')).toBe('2026-01-01T00:15:00.000Z');
    expect(q.has('page_size')).toBe(false);
    expect(apiQuery(new URLSearchParams('range=15m&q=x'), false).toString()).toBe('q=x');
  });

  it('picks a histogram interval the API reads, giving at most about 90 buckets', () => {
    expect(intervalFor(15 * 60_000)).toEqual({ text: '10s', ms: 10_000 });
    expect(intervalFor(3_600_000)).toEqual({ text: '1m', ms: 60_000 });
    expect(intervalFor(86_400_000).text).toBe('30m');
    expect(intervalFor(30 * 86_400_000).text).toBe('12h');
    for (const span of [60_000, 3_600_000, 7 * 86_400_000, 365 * 86_400_000]) {
      const { text, ms } = intervalFor(span);
      expect(text).toMatch(/^[1-9]\d*[smhdw]$/);
      if (ms < 7 * 86_400_000) expect(span / ms).toBeLessThanOrEqual(90);
    }
  });
});
