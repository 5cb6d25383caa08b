import type { NormalizedEvent } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';
import { likePattern } from './events-sql-parts.js';
import {
  compileMatcher,
  type EventFilter,
  filterFingerprint,
  parseFilter,
  parseIp,
  parseTime,
} from './filters.js';

function filter(p: Parameters<typeof parseFilter>[0]): EventFilter {
  const r = parseFilter(p);
  if ('problems' in r) throw new Error(JSON.stringify(r.problems));
  return r.filter;
}

const base: NormalizedEvent = {
  time: '2025-01-31T08:00:00.000Z',
  receivedAt: '2025-01-31T08:00:00.100Z',
  tenantId: 'acme',
  eventId: '01948c2e-0000-7000-8000-000000000001',
  sourceType: 'syslog',
  hostName: 'web-1',
  hostIp: '192.168.1.10',
  appName: 'sshd',
  severity: 4,
  category: 'authentication',
  action: 'login',
  outcome: 'failure',
  userName: 'alice',
  srcIp: '10.1.2.3',
  srcPort: 50000,
  dstIp: '2001:db8::1',
  dstPort: 22,
  processName: 'sshd',
  processPid: 1234,
  eventCode: '4625',
  message: 'Failed password for Alice from 10.1.2.3',
  attrs: {},
  raw: '<36>…',
  classUid: 3002,
};

describe('parseTime', () => {
  it('reads ISO 8601 with a zone, dates, and epoch seconds keeping microseconds', () => {
    expect(parseTime('2025-01-31T08:00:00Z')).toEqual({
      iso: '2025-01-31T08:00:00Z',
      ms: Date.UTC(2025, 0, 31, 8),
    });
    expect(parseTime('2025-01-31T10:00:00+02:00')).toMatchObject({ ms: Date.UTC(2025, 0, 31, 8) });
    expect(parseTime('2025-01-31')).toEqual({ iso: '2025-01-31T00:00:00Z', ms: Date.UTC(2025, 0, 31) });
    expect(parseTime('1738310400')).toEqual({ iso: '2025-01-31T08:00:00Z', ms: Date.UTC(2025, 0, 31, 8) });
    expect(parseTime('1738310400.123456')).toEqual({
      iso: '2025-01-31T08:00:00.123456Z',
      ms: Date.UTC(2025, 0, 31, 8) + 123,
    });
  });

  it('refuses times without a zone and garbage', () => {
    expect(parseTime('2025-01-31T08:00:00')).toMatch(/time zone/);
    expect(parseTime('yesterday')).toMatch(/ISO 8601/);
    expect(parseTime("2025-01-31'; drop table x; --")).toMatch(/ISO 8601/);
    expect(parseTime('2025-13-45T00:00:00Z')).toMatch(/not a valid date/);
    expect(parseTime('99999999999999')).toMatch(/ISO 8601/);
  });

  it('reads epoch milliseconds from 12 digits on, keeping a fraction as microseconds', () => {
    expect(parseTime('1738310400000')).toEqual({ iso: '2025-01-31T08:00:00Z', ms: Date.UTC(2025, 0, 31, 8) });
    expect(parseTime('1738310400123.5')).toEqual({
      iso: '2025-01-31T08:00:00.123500Z',
      ms: Date.UTC(2025, 0, 31, 8) + 123,
    });
    expect(parseTime('99999999999')).toMatchObject({ iso: '5138-11-16T09:46:39Z' }); // 11 digits: seconds
  });

  it('refuses dates and times that do not exist, as the database would', () => {
    const refused: Array<[string, RegExp]> = [
      ['2026-02-30', /day 30 does not exist in 2026-02/],
      ['2026-02-30T00:00:00Z', /day 30 does not exist in 2026-02/],
      ['2026-04-31T12:00:00Z', /day 31 does not exist in 2026-04/],
      ['2100-02-29T00:00:00Z', /day 29 does not exist in 2100-02/],
      ['2026-13-01T00:00:00Z', /month 13 does not exist/],
      ['2026-00-10', /month 00 does not exist/],
      ['2026-01-00', /day 00 does not exist/],
      ['2026-01-01T25:00:00Z', /hour 25 does not exist/],
      ['2026-01-01T24:00:00Z', /hour 24 does not exist/],
      ['2026-01-01T10:60:00Z', /minute 60 does not exist/],
      ['2026-01-01T10:00:60Z', /second 60 does not exist/],
      ['2026-01-01T10:00:00+25:00', /UTC offset/],
      ['2026-01-01T10:00:00+02:75', /UTC offset/],
      ['0000-01-01T00:00:00Z', /out of range/],
    ];
    for (const [text, why] of refused) expect(parseTime(text), text).toMatch(why);
    expect(parseTime('2024-02-29T00:00:00Z')).toMatchObject({ ms: Date.UTC(2024, 1, 29) });
    expect(parseTime('2000-02-29')).toMatchObject({ ms: Date.UTC(2000, 1, 29) });
    expect(parseTime('0099-12-31T00:00:00Z')).toMatchObject({ iso: '0099-12-31T00:00:00Z' });
    expect(parseTime('2025-01-31T10:00:00.5+02:00')).toEqual({
      iso: '2025-01-31T08:00:00.500000Z',
      ms: Date.UTC(2025, 0, 31, 8) + 500,
    });
  });
});

describe('parseFilter', () => {
  it('names every bad parameter at once', () => {
    const r = parseFilter({
      from: 'soon',
      to: '2025-01-31T08:00:00',
      severity: ['4', 'loud'],
      min_severity: '9',
      src_ip: ['10.0.0.0/33', '10.0.0.1'],
      dst_ip: ['not-an-ip'],
    });
    expect('problems' in r && r.problems.map((p) => p.parameter)).toEqual([
      'from',
      'to',
      'severity',
      'min_severity',
      'src_ip',
      'dst_ip',
    ]);
  });

  it('refuses an empty or inverted range', () => {
    const r = parseFilter({ from: '2025-01-31T08:00:00Z', to: '2025-01-31T08:00:00Z' });
    expect('problems' in r && r.problems).toEqual([{ parameter: 'to', message: 'must be later than from' }]);
  });

  it('reads severities by name or number', () => {
    const f = filter({ severity: ['error', '4'], min_severity: 'warning' });
    expect(f.severities).toEqual([3, 4]);
    expect(f.minSeverity).toBe(4);
  });

  it('reads addresses and CIDR networks of both families', () => {
    expect(parseIp('10.0.0.0/8')).toMatchObject({ family: 'ipv4', prefix: 8, inet: '10.0.0.0/8' });
    expect(parseIp('2001:db8::/32')).toMatchObject({ family: 'ipv6', prefix: 32 });
    expect(parseIp('10.0.0.1')).toMatchObject({ prefix: 32 });
    expect(parseIp('10.0.0.1/x')).toBeNull();
    expect(parseIp("10.0.0.1' or 1=1")).toBeNull();
    expect(parseIp('fe80::1%eth0')).toBeNull(); // a zone id: node's isIP takes it, PostgreSQL's inet does not
  });
});

describe('compileMatcher (the live tail filter)', () => {
  it('combines filters with AND and the values of one filter with OR', () => {
    const match = compileMatcher(
      filter({
        host: ['web-1', 'web-2'],
        outcome: ['failure'],
        src_ip: ['10.1.0.0/16'],
        q: 'FAILED PASSWORD',
      }),
    );
    expect(match(base)).toBe(true);
    expect(match({ ...base, hostName: 'db-1' })).toBe(false);
    expect(match({ ...base, outcome: 'success' })).toBe(false);
    expect(match({ ...base, srcIp: '10.2.0.1' })).toBe(false);
    expect(match({ ...base, srcIp: null })).toBe(false);
    expect(match({ ...base, message: 'Accepted password' })).toBe(false);
  });

  it('matches IPv6 networks, time ranges and minimum severity', () => {
    expect(compileMatcher(filter({ dst_ip: ['2001:db8::/32'] }))(base)).toBe(true);
    expect(compileMatcher(filter({ dst_ip: ['2001:db9::/32'] }))(base)).toBe(false);
    expect(compileMatcher(filter({ min_severity: 'warning' }))(base)).toBe(true);
    expect(compileMatcher(filter({ min_severity: 'error' }))(base)).toBe(false);
    expect(compileMatcher(filter({ from: '2025-01-31T08:00:00Z', to: '2025-01-31T08:00:01Z' }))(base)).toBe(
      true,
    );
    expect(compileMatcher(filter({ to: '2025-01-31T08:00:00Z' }))(base)).toBe(false);
    expect(compileMatcher(filter({ tenant: ['other'] }))(base)).toBe(false);
  });
});

describe('likePattern', () => {
  it('escapes LIKE wildcards so the text matches literally', () => {
    expect(likePattern('100%_done\\')).toBe('%100\\%\\_done\\\\%');
  });
});

describe('cursor', () => {
  const f = filter({ host: ['web-1'] });
  const pos = { time: '2025-01-31T08:00:00.123456Z', eventId: base.eventId, tenantId: 'acme' };

  it('round-trips a position for the same filters', () => {
    expect(decodeCursor(encodeCursor(pos, filterFingerprint(f)), filterFingerprint(f))).toEqual(pos);
  });

  it('refuses a cursor of other filters, and anything that is not a cursor', () => {
    const other = filterFingerprint(filter({ host: ['web-2'] }));
    expect(decodeCursor(encodeCursor(pos, filterFingerprint(f)), other)).toMatch(/other filters/);
    expect(decodeCursor('bm90IGEgY3Vyc29y', filterFingerprint(f))).toMatch(/not a cursor/);
    const forged = Buffer.from(JSON.stringify([1, "x' or '1'='1", base.eventId, 'acme', 'abc'])).toString(
      'base64url',
    );
    expect(decodeCursor(forged, filterFingerprint(f))).toMatch(/not a cursor/);
  });

  it('refuses a tampered cursor whose time does not exist or whose tenant the database cannot hold', () => {
    const fp = filterFingerprint(f);
    const [version, , id, tenant, digest] = JSON.parse(
      Buffer.from(encodeCursor(pos, fp), 'base64url').toString('utf8'),
    ) as unknown[];
    const tampered = (time: unknown, t: unknown = tenant) =>
      Buffer.from(JSON.stringify([version, time, id, t, digest])).toString('base64url');
    expect(decodeCursor(tampered(pos.time), fp)).toEqual(pos); // the forgery itself is well made
    for (const time of [
      '2026-02-30T00:00:00.000000Z',
      '2026-13-01T00:00:00.000000Z',
      '2026-01-01T25:00:00.000000Z',
      '0000-01-01T00:00:00.000000Z',
    ]) {
      expect(decodeCursor(tampered(time), fp), time).toMatch(/not a cursor/);
    }
    expect(decodeCursor(tampered(pos.time, 'ac\u0000me'), fp)).toMatch(/not a cursor/);
  });
});
