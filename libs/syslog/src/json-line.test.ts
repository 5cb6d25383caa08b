import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceSamples } from './device-corpus.js';
import { SyslogJsonLines, syslogJsonObject } from './json-line.js';
import { parseSyslog, type SyslogFormat } from './parser.js';

const now = Date.parse('2024-01-18T12:00:00Z');
const zone = 'Europe/Berlin';

/** The object path: parseSyslog, the object in key order, JSON.stringify. */
function slow(line: Buffer, format: SyslogFormat = 'auto', originalBytes = line.length): string {
  const p = parseSyslog(line, { receivedAtMs: now, defaultTimezone: zone, format });
  return `${JSON.stringify(syslogJsonObject(p, originalBytes > line.length ? originalBytes : null))}\n`;
}

function fast(lines: Buffer[], format: SyslogFormat = 'auto', slabBytes?: number): string[] {
  const w = new SyslogJsonLines({ format, defaultTimezone: zone, slabBytes });
  const out: string[] = [];
  for (const line of lines) {
    w.add(line, now);
    out.push(Buffer.concat(w.take()).toString('utf8'));
  }
  return out;
}

/** What JSON.parse makes of a line, written again: equal objects give equal text. */
const normalized = (json: string) => `${JSON.stringify(JSON.parse(json))}\n`;

const BOM = '\u{feff}';
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** Lines that stress the writer: escapes, control characters, invalid UTF-8, CEF/LEEF edges, sizes. */
const edgeLines: Buffer[] = [
  bytes(''),
  bytes('no header at all'),
  bytes(
    '<13>Jan 18 11:07:53 host app[1]: quote " backslash \\ slash / tab \t del \u007f nul \u0000 esc \u001b',
  ),
  bytes('<13>Jan 18 11:07:53 host app: line separators \u2028 \u2029 and emoji 😀 and é'),
  bytes('<13>Jan 18 11:07:53 host app: caf', [0xe9], ' invalid latin-1 byte'),
  bytes(
    '<13>Jan 18 11:07:53 host app: surrogate encoded ',
    [0xed, 0xa0, 0x80],
    ' and overlong ',
    [0xc0, 0xaf],
  ),
  bytes('<13>Jan 18 11:07:53 host app: cut character at the end ', [0xe2, 0x82]),
  bytes('<13>Jan 18 11:07:53 host ', [0xff, 0xfe], 'app: invalid bytes in the tag'),
  bytes('<13>Jan 18 11:07:53 host a"p\\p: quote and backslash in the tag'),
  bytes(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed`),
  bytes(
    '<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 q="say \\"hi\\"" p="C:\\\\dir" b="a\\]b" c="\\n"] escapes',
  ),
  bytes('<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 u="grüße"] non-ASCII value: objects'),
  bytes('<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 a="1"][x@1 b="2"] repeated SD-ID: objects'),
  bytes('<13>1 2024-01-18T11:07:53Z - - - - [a\\b@1 k="v"] backslash in an SD-ID'),
  bytes('<13>1 2024-01-18T11:07:53Z host app 12 ID - ', [0x01, 0x1f, 0x7f], ' controls'),
  bytes('<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 broken'),
  bytes(
    '<13>Jan 18 11:07:53 fw CEF:0|Security|threatmanager|1.0|100|worm "stopped"|10|src=10.0.0.1 msg=a\\=b',
  ),
  bytes('<13>Jan 18 11:07:53 sw1 LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5'),
  bytes('CEF:0|at the start|of the message|1|2|3|4|'),
  bytes('EF: at the start, then CEF:0|a|b|1|2|3|4|k=v'),
  bytes('<13>Jan 18 11:07:53 h app: CEF:0|é|b|1|2|3|4|k=', [0xe9]),
  bytes('<13>Jan 18 11:07:53 h app: ', 'x'.repeat(300_000)),
  bytes('<13>Jan 18 11:07:53 h app: ', '\u0001'.repeat(70_000)),
  bytes(
    '<13>1 2024-01-18T11:07:53Z h a - - [x@1',
    Array.from({ length: 2000 }, (_, i) => ` k${i}="v"${i}"`).join(''),
    '] many params',
  ),
];

/** Lines where only the structured data differs in bytes (the same once parsed; see json-line.ts). */
const sdOrderLines: Buffer[] = [
  bytes('<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 b="1" 7="2"] a parameter named like an index'),
  bytes('<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 k="1" k="2"] a parameter named twice'),
];

const corpus = [...deviceSamples.map((s) => Buffer.from(s.raw, 'utf8')), ...edgeLines];

describe('SyslogJsonLines: the fast path writes what JSON.stringify writes for the object path', () => {
  it('device corpus and edge cases: byte for byte, in every format', () => {
    for (const format of ['auto', 'rfc3164', 'rfc5424'] as const) {
      const out = fast(corpus, format);
      corpus.forEach((line, i) => {
        expect(out[i], line.toString('utf8', 0, 120)).toBe(slow(line, format));
      });
    }
  });

  it('the same bytes when the lines straddle small output slabs (a line moves to a new slab)', () => {
    const all = fast(corpus, 'auto').join('');
    for (const slab of [64, 1000, 4096]) expect(fast(corpus, 'auto', slab).join('')).toBe(all);
    const w = new SyslogJsonLines({ format: 'auto', defaultTimezone: zone, slabBytes: 256 });
    for (const line of corpus) w.add(line, now);
    expect(w.pendingBytes).toBe(Buffer.byteLength(all));
    expect(Buffer.concat(w.take()).toString('utf8')).toBe(all);
    expect(w.take()).toEqual([]);
  });

  it('structured data with index-like or repeated parameter names: the same once parsed, not in bytes', () => {
    const out = fast(sdOrderLines);
    sdOrderLines.forEach((line, i) => {
      expect(out[i]).not.toBe(slow(line));
      expect(normalized(out[i]!)).toBe(slow(line));
    });
  });

  it('a cut line ends with "truncated":true and its original size', () => {
    const line = Buffer.from('<13>Jan 18 11:07:53 h app: cut here');
    const w = new SyslogJsonLines({ format: 'auto', defaultTimezone: zone });
    w.add(line, now, 70_000);
    const text = Buffer.concat(w.take()).toString('utf8');
    expect(text).toBe(slow(line, 'auto', 70_000));
    expect(JSON.parse(text)).toMatchObject({ message: 'cut here', truncated: true, originalBytes: 70_000 });
  });

  it('the receive time picks the year of year-less timestamps, per call', () => {
    const w = new SyslogJsonLines({ format: 'auto', defaultTimezone: 'UTC' });
    const line = Buffer.from('<13>Dec 31 23:59:59 h app: x');
    w.add(line, Date.parse('2024-01-01T00:00:10Z'));
    w.add(line, Date.parse('2024-12-31T00:00:00Z'));
    const [a, b] = Buffer.concat(w.take()).toString('utf8').trimEnd().split('\n');
    expect(JSON.parse(a!).timestamp).toBe('2023-12-31T23:59:59Z');
    expect(JSON.parse(b!).timestamp).toBe('2024-12-31T23:59:59Z');
  });
});

/** Bytes that look like syslog: header pieces, SD pieces, CEF/LEEF markers, escapes, UTF-8 and junk. */
const syslogish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '<13>',
        '<165>1 ',
        '2003-10-11T22:14:15.003Z ',
        'Jan 18 11:07:53 ',
        'host ',
        'app[12]: ',
        '- ',
        '[x@1 k="v"]',
        '[y@2 a="b\\"c" d="e\\\\f"]',
        ' ',
        '"',
        '\\',
        ':',
        'CEF:0|a|b|1|2|3|4|k=v',
        'LEEF:2.0|a|b|1|2|^|k=v',
        'EF:',
        '\ufeff',
        '\u2028',
        '😀',
        '\t',
        '\u0000',
        '\u007f',
      ),
      fc.string({ maxLength: 8, unit: 'grapheme' }),
      fc.string({ maxLength: 4, unit: 'binary' }),
      fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b).toString('latin1')),
    ),
    { maxLength: 30 },
  )
  .chain((parts) =>
    fc.boolean().map((rawBytes) =>
      // half the time, parts made of raw bytes (invalid UTF-8 included), else UTF-8 text
      rawBytes ? Buffer.from(parts.join(''), 'latin1') : Buffer.from(parts.join(''), 'utf8'),
    ),
  )
  .filter((b) => !b.includes(0x0a));

describe('SyslogJsonLines properties (fast-check)', () => {
  it('syslog-shaped lines: the same object as the object path, byte for byte without structured data', () => {
    const writers = new Map(
      (['auto', 'rfc3164', 'rfc5424'] as const).map((f) => [
        f,
        new SyslogJsonLines({ format: f, defaultTimezone: zone, slabBytes: 512 }),
      ]),
    );
    fc.assert(
      fc.property(syslogish, fc.constantFrom<SyslogFormat>('auto', 'rfc3164', 'rfc5424'), (line, format) => {
        const expected = slow(line, format);
        const got = fast([line], format)[0]!;
        expect(normalized(got)).toBe(expected);
        const p = parseSyslog(line, { receivedAtMs: now, defaultTimezone: zone, format });
        if (p.header.structuredData === null) expect(got).toBe(expected);
        // a long-lived writer gives the same as a fresh one
        const w = writers.get(format)!;
        w.add(line, now);
        expect(Buffer.concat(w.take()).toString('utf8')).toBe(got);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes: byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        const line = Buffer.from(b.filter((x) => x !== 0x0a));
        const got = fast([line])[0]!;
        const expected = slow(line);
        const p = parseSyslog(line, { receivedAtMs: now, defaultTimezone: zone });
        if (p.header.structuredData === null) expect(got).toBe(expected);
        else expect(normalized(got)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
