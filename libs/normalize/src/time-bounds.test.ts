import type { NormalizedEvent } from '@siem/core';
import { metricsRegistry } from '@siem/observability';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalize, normalizeAll } from './normalize.js';
import { RECEIVED_AT, rawEvent, syslogCase } from './test-fixtures.js';
import { clampTimes, timeBoundsSchema } from './time-bounds.js';

/** A CloudTrail record dated `eventTime`, received at RECEIVED_AT (2025-03-05T14:10:00Z). */
const trail = (eventTime: string, eventName = 'ConsoleLogin') => ({
  eventVersion: '1.08',
  eventTime,
  eventSource: 'signin.amazonaws.com',
  eventName,
  awsRegion: 'us-east-1',
  sourceIPAddress: '198.51.100.7',
});
const one = (eventTime: string) => rawEvent('cloudtrail', JSON.stringify(trail(eventTime)));

async function clampedCount(bound: 'future' | 'past'): Promise<number> {
  const m = await metricsRegistry.getSingleMetric('siem_normalizer_time_clamped_total')?.get();
  return m?.values.find((v) => v.labels.bound === bound)?.value ?? 0;
}

describe('event time bounds', () => {
  it('replaces a time from the future by the receive time, keeps the original in attrs.event and counts it', async () => {
    const before = await clampedCount('future');
    const row = normalize(one('2199-01-01T00:00:00Z'));
    expect(row.time).toBe(RECEIVED_AT);
    expect(row.receivedAt).toBe(RECEIVED_AT);
    expect(row.attrs.event).toEqual({ original_time: '2199-01-01T00:00:00Z', time_clamped: 'future' });
    expect(row.eventCode).toBe(normalize(one('2025-03-05T14:00:00Z')).eventCode); // the rest as usual
    expect(await clampedCount('future')).toBe(before + 1);
  });

  it('keeps times within the margin (2 days by default) and old times as they are', async () => {
    const before = await clampedCount('future');
    for (const t of [
      '2025-03-07T14:09:59Z',
      '2025-03-05T14:10:00.5Z',
      '2001-09-09T01:46:40Z',
      '1995-01-01T00:00:00Z',
    ]) {
      const row = normalize(one(t));
      expect(Date.parse(row.time), t).toBe(Date.parse(t));
      expect(row.attrs.event, t).toBeUndefined();
    }
    expect(normalize(one('2025-03-07T14:10:01Z')).attrs.event).toMatchObject({ time_clamped: 'future' });
    expect(await clampedCount('future')).toBe(before + 1);
  });

  it('takes the margin and the optional lower bound from the options', async () => {
    const time = { future_margin_seconds: 60, past_margin_days: 30 };
    expect(normalize(one('2025-03-05T14:12:00Z'), { time }).attrs.event).toMatchObject({
      time_clamped: 'future',
    });
    const before = await clampedCount('past');
    const old = normalize(one('2025-01-01T00:00:00Z'), { time });
    expect(old.time).toBe(RECEIVED_AT);
    expect(old.attrs.event).toEqual({ original_time: '2025-01-01T00:00:00Z', time_clamped: 'past' });
    expect(await clampedCount('past')).toBe(before + 1);
    expect(normalize(one('2025-02-10T00:00:00Z'), { time }).attrs.event).toBeUndefined();
  });

  it('clamps only the rows of a batch that cross the bound', () => {
    const rows = normalizeAll(
      rawEvent(
        'cloudtrail',
        JSON.stringify({
          Records: [trail('2025-03-05T14:00:00Z'), trail('2150-06-01T00:00:00Z', 'AssumeRole')],
        }),
      ),
    );
    expect(rows.map((r) => [r.time, r.attrs.event?.constructor === Object])).toEqual([
      ['2025-03-05T14:00:00Z', false],
      [RECEIVED_AT, true],
    ]);
  });

  it('applies to syslog too, where a sender sets its own clock', () => {
    const raw = syslogCase('sshd-accepted-publickey');
    const future = { ...raw, syslog: { ...raw.syslog!, timestamp: '2199-12-31T23:59:59Z' } };
    const row = normalize(future);
    expect(row.time).toBe(RECEIVED_AT);
    expect(row.attrs.event).toMatchObject({ original_time: '2199-12-31T23:59:59Z' });
  });

  it('decides as Date.parse would for any offset and margin (the date-string fast path included)', () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const offset = fc.oneof(
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 30, 45, 59))
        .map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`),
    );
    const day = 86_400_000;
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2090, 0, 1) }),
        fc.integer({ min: -5 * day, max: 5 * day }),
        offset,
        fc.integer({ min: 0, max: 10 * 86_400 }),
        (receivedMs, delta, zone, margin) => {
          const receivedAt = new Date(receivedMs).toISOString();
          const utc = receivedMs + delta;
          const shift =
            zone === 'Z'
              ? 0
              : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4))) * 60_000;
          const time = `${new Date(utc + shift).toISOString().slice(0, 23)}${zone}`;
          const row = { time, receivedAt, attrs: {} } as unknown as NormalizedEvent;
          clampTimes([row], receivedAt, { future_margin_seconds: margin, past_margin_days: null });
          const clampedNow = Date.parse(time) > receivedMs + margin * 1000;
          expect(row.time).toBe(clampedNow ? receivedAt : time);
        },
      ),
      { numRuns: 3000, seed: 18 },
    );
  });

  it('has a schema whose defaults are the documented ones', () => {
    expect(timeBoundsSchema.properties.future_margin_seconds.default).toBe(172_800);
    expect(timeBoundsSchema.properties.past_margin_days.default).toBeNull();
  });
});
