import { isSiemError, type SourceType } from '@siem/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordEventId } from './event-id.js';
import { parseTime } from './fields.js';
import { normalize, normalizeAll } from './normalize.js';
import { rawEvent, rowProblems } from './test-fixtures.js';

function normalizeError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isSiemError(err, 'SIEM_ERR_NORMALIZE')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected SIEM_ERR_NORMALIZE');
}

describe('dispatcher errors', () => {
  it('refuses payloads that cannot be normalized with SIEM_ERR_NORMALIZE and a reason', () => {
    expect(normalizeError(() => normalize(rawEvent('cloudtrail', '{"Records": [')))).toMatch(
      /not valid JSON/,
    );
    expect(normalizeError(() => normalize(rawEvent('cloudtrail', '{"Records": []}')))).toMatch(/empty batch/);
    expect(normalizeError(() => normalize(rawEvent('cloudtrail', '{"foo": 1}')))).toMatch(/eventName/);
    expect(normalizeError(() => normalize(rawEvent('azure_activity', '"text"')))).toMatch(
      /not a JSON object/,
    );
    expect(normalizeError(() => normalize(rawEvent('windows', '{"Hostname": "x"}')))).toMatch(/EventID/);
    expect(normalizeError(() => normalize(rawEvent('gcp_logging', '{"x": 1}')))).toMatch(/LogEntry/);
    expect(normalizeError(() => normalizeAll(rawEvent('windows', '[1, 2]')))).toMatch(/element 0/);
  });

  it('keeps an array the intake marked too_many_records as ONE row, the records in attrs', () => {
    const record = { winlog: { event_id: 4625, channel: 'Security', computer_name: 'dc1' } };
    const payload = JSON.stringify(Array.from({ length: 7400 }, () => record));
    const raw = { ...rawEvent('windows', payload), parseError: 'too_many_records' };
    const rows = normalizeAll(raw);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.attrs.record_count).toBe(7400);
    expect((rows[0]!.attrs.records as unknown[]).length).toBe(7400);
    expect(rows[0]!.attrs.parse_error).toBe('too_many_records');
    expect(rows[0]!.raw).toBe(payload);
    expect(rowProblems(rows[0]!)).toEqual([]);
    // Without the intake's mark the same array is split into one row per record, as before.
    expect(normalizeAll(rawEvent('windows', JSON.stringify([record, record])))).toHaveLength(2);
  });

  it('never throws anything but SIEM_ERR_NORMALIZE, and every row it returns fits the table', () => {
    const types: SourceType[] = ['syslog', 'windows', 'cloudtrail', 'azure_activity', 'gcp_logging'];
    // JSON-ish shapes that reach deep into the normalizers, plus raw bytes
    const jsonish = fc.oneof(
      fc.json(),
      fc
        .record({
          EventID: fc.oneof(fc.integer(), fc.string()),
          Channel: fc.constantFrom('Security', 'System'),
          TargetUserName: fc.string(),
          IpAddress: fc.string(),
          Keywords: fc.oneof(fc.integer(), fc.string()),
          StringInserts: fc.array(fc.string()),
        })
        .map((o) => JSON.stringify(o)),
      fc
        .record({
          eventName: fc.string(),
          eventSource: fc.string(),
          sourceIPAddress: fc.string(),
          eventTime: fc.string(),
          userIdentity: fc.anything(),
        })
        .map((o) => JSON.stringify({ Records: [o, o] })),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.oneof(jsonish, fc.string(), fc.uint8Array({ maxLength: 300 })),
        (st, p) => {
          const payload = typeof p === 'string' ? Buffer.from(p) : Buffer.from(p);
          try {
            for (const row of normalizeAll(rawEvent(st, payload))) {
              const problems = rowProblems(row);
              if (problems.length > 0) throw new Error(`bad row: ${problems.join(', ')}`);
            }
          } catch (err) {
            if (!isSiemError(err, 'SIEM_ERR_NORMALIZE')) throw err;
          }
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });
});

describe('event ids', () => {
  const rawId = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

  it('record 0 keeps a UUID raw id; others are UUIDv7-shaped with the raw timestamp, stable and distinct', () => {
    expect(recordEventId(rawId.toUpperCase(), 0, 0)).toBe(rawId);
    const ids = Array.from({ length: 1000 }, (_, i) => recordEventId(rawId, 0, i));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(1)) {
      expect(id).toMatch(/^0190a1b2-c3d4-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(recordEventId(rawId, 0, 7)).toBe(ids[7]);
  });

  it('a raw id that is not a UUID gets a derived id with the receivedAt timestamp', () => {
    const ms = Date.UTC(2025, 0, 1);
    const id = recordEventId('replay-42', ms, 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(ms);
  });
});

describe('time parsing', () => {
  it('canonicalises the formats sources use, flagging zone-less ones', () => {
    expect(parseTime('2020-06-30T16:14:47.593398572Z')).toEqual({
      iso: '2020-06-30T16:14:47.593398Z',
      assumedUtc: false,
    });
    expect(parseTime('2021-08-27T13:03:47.002016+0545')).toEqual({
      iso: '2021-08-27T13:03:47.002016+05:45',
      assumedUtc: false,
    });
    expect(parseTime('2017-12-19 17:45:02')).toEqual({ iso: '2017-12-19T17:45:02Z', assumedUtc: true });
    expect(parseTime('2021-06-03 18:45:20 +0900')).toEqual({
      iso: '2021-06-03T18:45:20+09:00',
      assumedUtc: false,
    });
    expect(parseTime('2018/09/05 12:45:15')).toEqual({ iso: '2018-09-05T12:45:15Z', assumedUtc: true });
    expect(parseTime('1560814553778525154')?.iso).toBe('2019-06-17T23:35:53.778Z');
    expect(parseTime(1547784473520)?.iso).toBe('2019-01-18T04:07:53.520Z');
    expect(parseTime('yesterday')).toBeNull();
    expect(parseTime('1970-01-01T00:00:00Z')).toBeNull(); // implausible clock
  });
});
