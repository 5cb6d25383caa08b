import { readFileSync } from 'node:fs';
import { type BufferRecord, decodeRawEvent, RawEventEncoder } from '@siem/core';
import { RateLimitedLog, silentLogger } from '@siem/observability';
import { describe, expect, it } from 'vitest';
import { computerOf, WindowsEventBuilder } from './event-builder.js';
import { WindowsMetrics } from './metrics.js';

/** Shipper samples committed with the normalizer (libs/normalize/src/fixtures/windows, sources in its README). */
const sample = (file: string) =>
  readFileSync(new URL(`../../normalize/src/fixtures/windows/${file}`, import.meta.url));

/** OpenWEC's JSON format, as in its doc/formats.md example (cea-sec/openwec), cut to the System part. */
const openwec = JSON.stringify({
  System: { EventID: 4688, Channel: 'Security', Computer: 'win10.windomain.local' },
  EventData: { SubjectUserName: 'WIN10$' },
  OpenWEC: { IpAddress: '192.168.58.100', Principal: 'WIN10$@WINDOMAIN.LOCAL' },
});

function setup(o: { maxMessageBytes?: number; keyBy?: 'host' | 'tenant'; maxArrayEvents?: number } = {}) {
  const metrics = new WindowsMetrics({ id: `builder-${Math.random()}`, type: 'windows_events' });
  const builder = new WindowsEventBuilder(
    {
      maxMessageBytes: o.maxMessageBytes ?? 64 * 1024,
      maxArrayEvents: o.maxArrayEvents ?? 100,
      keyBy: o.keyBy ?? 'host',
      tenant: 'acme',
    },
    metrics,
    new RateLimitedLog(silentLogger),
  );
  const encoder = new RawEventEncoder(
    { adapter: 'windows_events', transport: 'tcp', peerAddress: '192.0.2.7', peerPort: 50000, tls: null },
    'acme',
  );
  const out: BufferRecord[] = [];
  const add = (payload: Buffer | string, size?: number) => {
    const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
    builder.add(out, encoder, '192.0.2.7', b, size ?? b.length, Date.parse('2025-03-05T14:10:00Z'));
    metrics.flush();
  };
  return { add, out, metrics, last: () => decodeRawEvent(out[out.length - 1]!.value) };
}

describe('Windows event builder', () => {
  it('finds the computer in every shipper layout', () => {
    expect(computerOf(JSON.parse(sample('nxlog-4624.json').toString()))).toBe('WIN-GG82ULGC9GO');
    expect(computerOf(JSON.parse(sample('fluentbit-4624.json').toString()))).toBe('WIN-GG82ULGC9GO');
    expect(computerOf(JSON.parse(sample('winlogbeat-4625.json').toString()))).toBe('DC01.contoso.local');
    expect(computerOf(JSON.parse(openwec))).toBe('win10.windomain.local');
    expect(computerOf({ host: { name: 'h1' } })).toBe('h1');
    expect(computerOf([{ Hostname: 'first' }, { Hostname: 'second' }])).toBe('first');
    expect(computerOf({ Hostname: 42 })).toBeNull();
    expect(computerOf('x')).toBeNull();
  });

  it('keeps the JSON exactly as received, source type windows, no syslog header, keyed by computer', () => {
    const { add, out, last } = setup();
    const line = JSON.stringify(JSON.parse(sample('nxlog-4625.json').toString()));
    add(line);
    const e = last();
    expect(e.sourceType).toBe('windows');
    expect(e.syslog).toBeNull();
    expect(e.payload.toString()).toBe(line);
    expect(e.marks).toEqual([]);
    expect(e.parseError).toBeNull();
    expect(out[0]!.key).toBe('DC01.contoso.local');
  });

  it('keeps malformed JSON with a parse_error mark and reason, keyed by the peer, counted', () => {
    const { add, out, last, metrics } = setup();
    add('{"EventID": 4624, "Hostname": "dc01"');
    expect(last()).toMatchObject({ marks: ['parse_error'], parseError: 'invalid_json' });
    expect(out[0]!.key).toBe('192.0.2.7');
    add('42');
    expect(last()).toMatchObject({ marks: ['parse_error'], parseError: 'not_an_object' });
    expect(metrics.snapshot()).toMatchObject({ parse_errors: 2, parse_errors_invalid_json: 1 });
  });

  it('cuts an event over max_message_bytes at a character boundary, marked truncated and parse_error', () => {
    const { add, last, metrics } = setup({ maxMessageBytes: 1024 });
    const big = JSON.stringify({ Hostname: 'dc01', Message: 'é'.repeat(1000) });
    add(big);
    const e = last();
    expect(e.marks).toEqual(['truncated', 'parse_error']);
    expect(e.parseError).toBe('truncated');
    expect(e.originalSize).toBe(Buffer.byteLength(big));
    expect(e.payload.length).toBeLessThanOrEqual(1024);
    expect(e.payload.toString('utf8')).not.toContain('\uFFFD');
    expect(metrics.totals.truncated).toBe(1);
  });

  it('keeps invalid UTF-8 byte for byte, marked', () => {
    const { add, last } = setup();
    const bad = Buffer.concat([
      Buffer.from('{"Hostname":"dc01","m":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    add(bad);
    const e = last();
    expect(e.marks).toContain('invalid_utf8');
    expect(e.payload).toEqual(bad);
  });

  it('discards blank lines, counted', () => {
    const { add, out, metrics } = setup();
    add('   ');
    expect(out).toHaveLength(0);
    expect(metrics.snapshot()).toMatchObject({ discarded: 1, discarded_empty: 1 });
  });

  it('keys by tenant when asked', () => {
    const { add, out } = setup({ keyBy: 'tenant' });
    add('{"Hostname":"dc01"}');
    expect(out[0]!.key).toBe('acme');
  });

  it('one line is one event: an array longer than maxArrayEvents stays whole, marked and counted', () => {
    const record = JSON.parse(sample('nxlog-4624.json').toString());
    const { add, out, metrics, last } = setup({ maxMessageBytes: 16 * 1024 * 1024, maxArrayEvents: 100 });
    add(JSON.stringify([record, record, record]));
    expect(last().parseError).toBeNull(); // a short batch: the normalizer makes a row of each
    // the line: 7,400 records in one JSON array
    const line = JSON.stringify(Array(7400).fill(record));
    add(line);
    expect(out).toHaveLength(2);
    const e = last();
    expect(e.parseError).toBe('too_many_records');
    expect(e.marks).toContain('parse_error');
    expect(e.payload.toString()).toBe(line); // kept whole, as sent
    expect(metrics.parseErrorsBy.get('too_many_records')).toBe(1);
  });
});
