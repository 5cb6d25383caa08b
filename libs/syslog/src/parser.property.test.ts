import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceSamples } from './device-corpus.js';
import { parseErrorReasons, parseSyslog, parseSyslogHeader, type SyslogFormat } from './parser.js';

const now = Date.parse('2024-01-18T12:00:00Z');
const formats: SyslogFormat[] = ['auto', 'rfc3164', 'rfc5424'];

/** Everything a parse returns must hold for any input. */
function checkInvariants(buf: Buffer, format: SyslogFormat): void {
  const p = parseSyslog(buf, { receivedAtMs: now, format, defaultTimezone: 'Europe/Berlin' });
  const off = p.header.msgOffset;
  expect(off).not.toBeNull();
  expect(off!).toBeGreaterThanOrEqual(0);
  expect(off!).toBeLessThanOrEqual(buf.length);
  // the message is exactly the payload from msgOffset on: nothing is dropped
  expect(p.message).toBe(buf.subarray(off!).toString('utf8'));
  if (p.parseError !== null) expect(parseErrorReasons).toContain(p.parseError);
  const f = p.header.facility;
  if (f !== null) {
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThanOrEqual(23);
    expect(p.header.severity).toBeGreaterThanOrEqual(0);
  }
  if (p.header.timestamp !== null) {
    expect(Number.isNaN(Date.parse(p.header.timestamp)), p.header.timestamp).toBe(false);
    expect(p.header.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
  }
  // the result is plain data
  expect(() => JSON.stringify(p)).not.toThrow();
  checkJsonStructuredData(buf, format);
}

/** Structured data as JSON text (what the gateway asks for) reads back as the objects of the default. */
function checkJsonStructuredData(buf: Buffer, format: SyslogFormat): void {
  const options = { receivedAtMs: now, format, defaultTimezone: 'Europe/Berlin' };
  const objects = parseSyslogHeader(buf, options);
  const text = parseSyslogHeader(buf, { ...options, structuredData: 'json' });
  expect(objects.structuredDataJson).toBeNull();
  expect(text.parseError).toBe(objects.parseError);
  expect({ ...text.header, structuredData: null }).toEqual({ ...objects.header, structuredData: null });
  if (text.structuredDataJson !== null) expect(text.header.structuredData).toBeNull();
  const read =
    text.structuredDataJson !== null ? JSON.parse(text.structuredDataJson) : text.header.structuredData;
  expect(JSON.parse(JSON.stringify(read))).toEqual(JSON.parse(JSON.stringify(objects.header.structuredData)));
}

/** Bytes that look like syslog: PRI, digits, months, spaces, brackets, quotes, escapes, UTF-8 and junk. */
const syslogish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '<',
        '>',
        '<13>',
        '<165>1 ',
        '1 ',
        ' ',
        '  ',
        '-',
        '[',
        ']',
        '"',
        '\\',
        '=',
        ':',
        ': ',
        'Jan 18 ',
        'Feb 29 ',
        '2024 ',
        '11:07:53',
        '.123',
        ' UTC:',
        '2003-10-11T22:14:15.003Z',
        '2003-08-24T05:14:15.000003-07:00',
        'host',
        'app[12]:',
        'x@1',
        'CEF:0|',
        'LEEF:2.0|',
        '|',
        '\ufeff',
        '\n',
        '*',
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'utf8'));

describe('parser properties (fast-check)', () => {
  it('random bytes: never throws, the message is the payload suffix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...formats), (bytes, format) => {
        checkInvariants(Buffer.from(bytes), format);
      }),
      { numRuns: 2000 },
    );
  });

  it('syslog-shaped fragments: never throws, invariants hold', () => {
    fc.assert(
      fc.property(syslogish, fc.constantFrom(...formats), (buf, format) => checkInvariants(buf, format)),
      { numRuns: 3000 },
    );
  });

  it('mutated real messages (bit flips, cuts, insertions): never throws, invariants hold', () => {
    const corpus = deviceSamples.map((s) => Buffer.from(s.raw, 'utf8'));
    fc.assert(
      fc.property(
        fc.constantFrom(...corpus),
        fc.array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert')),
          {
            maxLength: 5,
          },
        ),
        (original, edits) => {
          let buf = Buffer.from(original);
          for (const [pos, byte, kind] of edits) {
            const at = buf.length === 0 ? 0 : pos % buf.length;
            if (kind === 'flip' && buf.length > 0) buf[at] = byte;
            else if (kind === 'cut') buf = buf.subarray(0, at);
            else buf = Buffer.concat([buf.subarray(0, at), Buffer.from([byte]), buf.subarray(at)]);
          }
          checkInvariants(buf, 'auto');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('generated RFC 5424 messages parse back to their fields', () => {
    const printUsAscii = (max: number) =>
      fc
        .array(fc.integer({ min: 33, max: 126 }), { minLength: 1, maxLength: max })
        .map((cs) => String.fromCharCode(...cs))
        .filter((s) => s !== '-');
    const sdName = fc
      .array(
        fc.integer({ min: 33, max: 126 }).filter((c) => c !== 61 && c !== 93 && c !== 34),
        {
          minLength: 1,
          maxLength: 32,
        },
      )
      .map((cs) => String.fromCharCode(...cs));
    const sdValue = fc.string({ maxLength: 20 });
    const esc = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll(']', '\\]');
    const sd = fc.dictionary(sdName, fc.dictionary(sdName, sdValue, { maxKeys: 4 }), { maxKeys: 3 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 191 }),
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2200-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.option(printUsAscii(255), { nil: null }),
        fc.option(printUsAscii(48), { nil: null }),
        fc.option(printUsAscii(128), { nil: null }),
        fc.option(printUsAscii(32), { nil: null }),
        sd,
        fc.string({ maxLength: 60 }).filter((m) => !m.startsWith('\ufeff')),
        (pri, date, host, app, proc, msgId, data, msg) => {
          const sdText =
            Object.keys(data).length === 0
              ? '-'
              : Object.entries(data)
                  .map(
                    ([id, ps]) =>
                      `[${id}${Object.entries(ps)
                        .map(([k, v]) => ` ${k}="${esc(v)}"`)
                        .join('')}]`,
                  )
                  .join('');
          const ts = date.toISOString();
          const raw = `<${pri}>1 ${ts} ${host ?? '-'} ${app ?? '-'} ${proc ?? '-'} ${msgId ?? '-'} ${sdText} ${msg}`;
          const p = parseSyslog(Buffer.from(raw, 'utf8'), { receivedAtMs: now });
          expect(p.parseError).toBeNull();
          expect(p.header).toMatchObject({
            format: 'rfc5424',
            facility: pri >> 3,
            severity: pri & 7,
            timestamp: ts,
            hostname: host,
            appName: app,
            procId: proc,
            msgId,
          });
          expect(JSON.parse(JSON.stringify(p.header.structuredData))).toEqual(
            Object.keys(data).length === 0 ? null : JSON.parse(JSON.stringify(data)),
          );
          expect(p.message).toBe(msg);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('structured data as JSON text: repeated SD-IDs and PARAM-NAMEs, escapes, control and non-ASCII characters', () => {
    const id = fc.constantFrom('a', 'b@1', 'x\\y', 'origin', '12', 'meta');
    const name = fc.constantFrom('k', 'ip', 'n\\m', '3', 'x');
    const part = fc.oneof(
      fc
        .string({ maxLength: 5 })
        .map((v) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll(']', '\\]')),
      fc.constantFrom('\\x', '\\\\', '\\"', '\\]', '\u0001', '\t', '\u00e9', '\u20ac', '\u007f', ']', '\n'),
    );
    const value = fc.array(part, { maxLength: 4 }).map((ps) => ps.join(''));
    const element = fc
      .tuple(id, fc.array(fc.tuple(name, value), { maxLength: 4 }))
      .map(([i, ps]) => `[${i}${ps.map(([k, v]) => ` ${k}="${v}"`).join('')}]`);
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), (elements) => {
        const buf = Buffer.from(
          `<13>1 2024-01-18T11:07:53Z host app - - ${elements.join('')} message`,
          'utf8',
        );
        checkJsonStructuredData(buf, 'auto');
      }),
      { numRuns: 3000 },
    );
  });

  it('large inputs finish in linear time and bounded memory', () => {
    const big = Buffer.alloc(8 * 1024 * 1024, '[');
    const before = process.memoryUsage().heapUsed;
    const p = parseSyslog(Buffer.concat([Buffer.from('<13>1 - h a - - '), big]), { receivedAtMs: now });
    expect(p.parseError).toBe('invalid_structured_data');
    const q = parseSyslog(Buffer.concat([Buffer.from('<13>Jan 18 11:07:53 '), Buffer.alloc(1 << 20, 'a')]), {
      receivedAtMs: now,
    });
    expect(q.header.hostname).toBeNull(); // a 1 MiB word is not a hostname
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });
});
