import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_COLUMNS } from './columns.js';
import { COLUMN_COUNT, type CoercionCounts, copyTextLine, prepareRow } from './row-encoding.js';
import { sampleEvent } from './sample-events.js';

const sample = sampleEvent(
  { seed: 7, fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 0, 2), count: 100 },
  3,
);

function prepare(e: object): { values: Array<string | null>; counts: CoercionCounts; timeMs: number } {
  const values = new Array<string | null>(COLUMN_COUNT);
  const counts: CoercionCounts = {};
  const timeMs = prepareRow({ ...sample, ...e }, values, counts);
  return { values, counts, timeMs };
}

const col = (name: string) => EVENT_COLUMNS.findIndex((c) => c.column === name);

/** The inverse of COPY text escaping, as PostgreSQL reads it. */
function readCopyLine(line: string): Array<string | null> {
  expect(line.endsWith('\n')).toBe(true);
  return line
    .slice(0, -1)
    .split('\t')
    .map((f) =>
      f === '\\N'
        ? null
        : f.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', '\\': '\\' })[c] ?? c),
    );
}

describe('row encoding', () => {
  it('passes a well-formed event through unchanged, in column order', () => {
    const { values, counts, timeMs } = prepare({});
    expect(counts).toEqual({});
    expect(timeMs).toBe(Date.parse(sample.time));
    for (const c of EVENT_COLUMNS) {
      const v = sample[c.field];
      const expected = v === null ? null : c.column === 'attrs' ? JSON.stringify(v) : String(v);
      expect(values[col(c.column)], c.column).toBe(expected);
    }
  });

  it('keeps a microsecond timestamp with its offset as written', () => {
    const { values, counts } = prepare({ time: '2026-01-01T10:00:00.123456+02:00' });
    expect(values[col('time')]).toBe('2026-01-01T10:00:00.123456+02:00');
    expect(counts).toEqual({});
  });

  it('coerces what the database would refuse, counts it, and keeps the original in attrs._storage', () => {
    const { values, counts } = prepare({
      time: 'yesterday',
      hostIp: 'fe80::1%eth0',
      srcIp: 'not-an-ip',
      dstIp: '10.0.0.0/8',
      srcPort: 70000,
      dstPort: -1,
      severity: 9,
      processPid: 1.5,
      classUid: 2 ** 40,
      message: 'a\0b',
      tenantId: '',
      attrs: { note: 'x\0y', lone: '\ud800z' },
    });
    expect(values[col('time')]).toBe(sample.receivedAt); // no readable time: when it arrived
    expect(values[col('host_ip')]).toBe('fe80::1'); // zone index dropped, address kept
    expect(values[col('src_ip')]).toBeNull();
    expect(values[col('dst_ip')]).toBeNull();
    expect(values[col('src_port')]).toBeNull();
    expect(values[col('dst_port')]).toBeNull();
    expect(values[col('severity')]).toBe('7');
    expect(values[col('process_pid')]).toBeNull();
    expect(values[col('class_uid')]).toBeNull();
    expect(values[col('message')]).toBe('a\uFFFDb');
    expect(values[col('tenant_id')]).toBe('default');
    const attrs = JSON.parse(values[col('attrs')]!);
    expect(attrs.note).toBe('x\uFFFDy');
    expect(attrs.lone).toBe('\uFFFDz');
    expect(attrs._storage).toEqual({
      time: 'yesterday',
      src_ip: 'not-an-ip',
      dst_ip: '10.0.0.0/8',
      src_port: 70000,
      dst_port: -1,
      severity: 9,
      process_pid: 1.5,
      class_uid: 2 ** 40,
    });
    expect(counts).toEqual({
      invalid_time: 1,
      invalid_ip: 2,
      invalid_port: 2,
      invalid_severity: 1,
      invalid_pid: 1,
      invalid_class_uid: 1,
      nul_char: 2,
      missing_field: 1,
    });
  });

  it('derives a stable id from the content when the event id is not a UUID, so replays still dedupe', () => {
    const a = prepare({ eventId: 'nope' }).values[col('event_id')];
    const b = prepare({ eventId: 'nope' }).values[col('event_id')];
    const other = prepare({ eventId: 'nope', raw: 'different' }).values[col('event_id')];
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).toBe(a);
    expect(other).not.toBe(a);
  });

  it('wraps attrs that are not an object', () => {
    const { values, counts } = prepare({ attrs: ['a', 1] as unknown as Record<string, unknown> });
    expect(JSON.parse(values[col('attrs')]!)).toEqual({ value: ['a', 1] });
    expect(counts.invalid_json).toBe(1);
  });

  it('writes COPY text that PostgreSQL reads back to the same values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: 'binary' }), { nil: null }), { minLength: 1, maxLength: 6 }),
        (vals) => {
          expect(readCopyLine(copyTextLine(vals))).toEqual(vals);
        },
      ),
    );
    expect(copyTextLine(['a\tb', null, 'c\\d\ne\r'])).toBe('a\\tb\t\\N\tc\\\\d\\ne\\r\n');
  });
});
