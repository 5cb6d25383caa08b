import { describe, expect, it } from 'vitest';
import {
  newParsedHeader,
  type ParseOptions,
  parseSyslog,
  parseSyslogHeader,
  parseSyslogHeaderInto,
} from './parser.js';

const jan18 = Date.parse('2024-01-18T12:00:00Z');
const parse = (raw: string | Buffer, options: Partial<ParseOptions> = {}) =>
  parseSyslog(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw, { receivedAtMs: jan18, ...options });

const BOM = '\u{feff}';

describe('RFC 5424 (examples of section 6.5)', () => {
  it('example 1: no structured data, a BOM before MSG', () => {
    const p = parse(
      `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`,
    );
    expect(p.parseError).toBeNull();
    expect(p.header).toMatchObject({
      format: 'rfc5424',
      facility: 4,
      severity: 2,
      timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com',
      appName: 'su',
      procId: null,
      msgId: 'ID47',
      structuredData: null,
    });
    expect(p.message).toBe("'su root' failed for lonvick on /dev/pts/8");
  });

  it('example 2: a negative offset is kept as sent, microseconds kept, no BOM', () => {
    const p = parse(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    );
    expect(p.header).toMatchObject({
      facility: 20,
      severity: 5,
      timestamp: '2003-08-24T05:14:15.000003-07:00',
      hostname: '192.0.2.1',
      appName: 'myproc',
      procId: '8710',
      msgId: null,
    });
    expect(p.message).toBe("%% It's time to make the do-nuts.");
  });

  it('example 3: structured data and a message', () => {
    const p = parse(
      `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`,
    );
    expect(p.header.structuredData).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
    });
    expect(p.message).toBe('An application event log entry...');
  });

  it('example 4: several SD elements and no message', () => {
    const p = parse(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    );
    expect(p.parseError).toBeNull();
    expect(p.header.structuredData).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
      'examplePriority@32473': { class: 'high' },
    });
    expect(p.message).toBe('');
  });

  it('the timestamp examples of section 6.2.3.1 (valid ones kept, invalid ones a parse error)', () => {
    for (const ts of [
      '1985-04-12T23:20:50.52Z',
      '1985-04-12T19:20:50.52-04:00',
      '2003-10-11T22:14:15.003Z',
      '2003-08-24T05:14:15.000003-07:00',
    ]) {
      expect(parse(`<13>1 ${ts} h a p m - x`).header.timestamp).toBe(ts);
    }
    // lower-case t and z are allowed by RFC 3339 and normalised
    expect(parse('<13>1 2003-10-11t22:14:15.003z h a p m - x').header.timestamp).toBe(
      '2003-10-11T22:14:15.003Z',
    );
    // a date that does not exist, a missing offset, a leap day in a common year
    for (const ts of ['2003-13-11T22:14:15Z', '2003-10-11T22:14:15', '2003-02-29T00:00:00Z']) {
      const p = parse(`<13>1 ${ts} h a p m - x`, { format: 'rfc5424' });
      expect(p.parseError, ts).toBe('invalid_timestamp');
      expect(p.message).toBe(`${ts} h a p m - x`);
    }
  });

  it('NILVALUE everywhere', () => {
    const p = parse('<13>1 - - - - - -');
    expect(p.parseError).toBeNull();
    expect(p.header).toMatchObject({
      timestamp: null,
      hostname: null,
      appName: null,
      procId: null,
      msgId: null,
      structuredData: null,
    });
    expect(p.message).toBe('');
  });

  it('SD escapes \\" \\\\ \\] and a backslash before any other character kept', () => {
    const p = parse('<13>1 - h a - - [x@1 q="say \\"hi\\"" path="C:\\\\dir" br="a\\]b" other="\\n"] m');
    expect(p.header.structuredData).toEqual({
      'x@1': { q: 'say "hi"', path: 'C:\\dir', br: 'a]b', other: '\\n' },
    });
    expect(p.message).toBe('m');
  });

  it('SD: an element without params, UTF-8 values, a repeated PARAM-NAME keeps the last value', () => {
    const p = parse('<13>1 - h a - - [origin][meta x="1" x="2" name="Jürgen ✓"] m');
    expect(p.header.structuredData).toEqual({ origin: {}, meta: { x: '2', name: 'Jürgen ✓' } });
  });

  it('malformed structured data keeps the header and the rest as message, with a reason', () => {
    const p = parse('<13>1 2024-01-18T11:07:53Z host app 12 ID [bad sd] the message');
    expect(p.parseError).toBe('invalid_structured_data');
    expect(p.header).toMatchObject({
      hostname: 'host',
      appName: 'app',
      procId: '12',
      msgId: 'ID',
      structuredData: null,
    });
    expect(p.message).toBe('[bad sd] the message');
    expect(parse('<13>1 - h a - - [x@1 a="unterminated] m').parseError).toBe('invalid_structured_data');
    expect(parse('<13>1 - h a - - [x@1 a=noquotes] m').parseError).toBe('invalid_structured_data');
  });

  it('header fields over their RFC length and a cut header are parse errors', () => {
    const longApp = 'a'.repeat(49);
    const p = parse(`<13>1 - host ${longApp} - - - m`);
    expect(p.parseError).toBe('invalid_app_name');
    expect(p.header.hostname).toBe('host');
    expect(p.message).toBe(`${longApp} - - - m`);
    expect(parse('<13>1 2024-01-18T11:07:53Z host app').parseError).toBe('truncated_header');
    expect(parse(`<13>1 - ${'h'.repeat(256)} a - - - m`).parseError).toBe('invalid_hostname');
  });

  it('auto mode reads `<PRI>1 ` without a timestamp as RFC 3164; rfc5424 mode reports it', () => {
    expect(parse('<13>1 apples for sale')).toMatchObject({ parseError: null, message: '1 apples for sale' });
    expect(parse('<13>1 apples for sale').header.format).toBe('rfc3164');
    expect(parse('<13>Jan 18 11:07:53 h a: x', { format: 'rfc5424' }).parseError).toBe('not_rfc5424');
  });
});

describe('RFC 3164 (examples of section 5.4)', () => {
  it('example 1', () => {
    const p = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    expect(p.header).toMatchObject({
      format: 'rfc3164',
      facility: 4,
      severity: 2,
      timestamp: '2023-10-11T22:14:15Z',
      hostname: 'mymachine',
      appName: 'su',
      procId: null,
    });
    expect(p.message).toBe("'su root' failed for lonvick on /dev/pts/8");
  });

  it('example 2: an IP address as HOSTNAME and no TAG', () => {
    const p = parse('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!');
    expect(p.header).toMatchObject({
      timestamp: '2024-02-05T17:32:18Z',
      hostname: '10.0.0.99',
      appName: null,
    });
    expect(p.message).toBe('Use the BFG!');
  });

  it('example 3: a relay-unfriendly timestamp stays in the message', () => {
    const raw =
      "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%";
    const p = parse(raw);
    expect(p.parseError).toBeNull();
    expect(p.header.timestamp).toBe('2023-08-24T05:34:00Z');
    expect(p.header.hostname).toBe('CST');
    expect(p.message.endsWith('Conveyer2=OK # %%')).toBe(true);
  });

  it('example 4: a year-first legacy line is kept whole as the message', () => {
    const p = parse(
      "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
    );
    expect(p.header).toMatchObject({ facility: 0, severity: 0, timestamp: null, hostname: null });
    expect(p.message).toBe(
      "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
    );
  });

  it('a message with no PRI at all (section 4.3.3)', () => {
    const p = parse('Use the BFG!');
    expect(p.header.facility).toBeNull();
    expect(p.parseError).toBe('no_header');
    expect(p.message).toBe('Use the BFG!');
    const q = parse('Jan 18 11:07:53 host app[1]: no pri but a header');
    expect(q.parseError).toBeNull();
    expect(q.header).toMatchObject({ facility: null, hostname: 'host', appName: 'app', procId: '1' });
  });
});

describe('RFC 3164 as devices send it', () => {
  it('picks the year that puts the timestamp closest to the receive time', () => {
    const newYear = Date.parse('2025-01-01T00:00:10Z');
    expect(parse('<13>Dec 31 23:59:59 h a: x', { receivedAtMs: newYear }).header.timestamp).toBe(
      '2024-12-31T23:59:59Z',
    );
    const dec31 = Date.parse('2024-12-31T23:59:50Z');
    expect(parse('<13>Jan  1 00:00:05 h a: x', { receivedAtMs: dec31 }).header.timestamp).toBe(
      '2025-01-01T00:00:05Z',
    );
    expect(parse('<13>Jun 30 12:00:00 h a: x').header.timestamp).toBe('2024-06-30T12:00:00Z');
    // Feb 29 exists only in leap years: the closest leap year wins
    const mar2025 = Date.parse('2025-03-01T00:00:00Z');
    expect(parse('<13>Feb 29 10:00:00 h a: x', { receivedAtMs: mar2025 }).header.timestamp).toBe(
      '2024-02-29T10:00:00Z',
    );
  });

  it('reads timestamps without offset in the default time zone, DST included', () => {
    const z = { defaultTimezone: 'Europe/Berlin' };
    expect(parse('<13>Jan 18 11:07:53 h a: x', z).header.timestamp).toBe('2024-01-18T11:07:53+01:00');
    expect(
      parse('<13>Jul 18 11:07:53 h a: x', { ...z, receivedAtMs: Date.parse('2024-07-20T00:00:00Z') }).header
        .timestamp,
    ).toBe('2024-07-18T11:07:53+02:00');
    const ny = { defaultTimezone: 'America/New_York' };
    expect(parse('<13>Jan 18 11:07:53 h a: x', ny).header.timestamp).toBe('2024-01-18T11:07:53-05:00');
    expect(parse('<13>2024-01-18T11:07:53 h a: x', ny).header.timestamp).toBe('2024-01-18T11:07:53-05:00');
    // a zone in the timestamp wins over the default
    expect(parse('<13>2024-01-18T11:07:53+09:00 h a: x', ny).header.timestamp).toBe(
      '2024-01-18T11:07:53+09:00',
    );
    expect(parse('<189>1: *Jan 18 11:07:53.1 UTC: %X-1-Y: z', ny).header.timestamp).toBe(
      '2024-01-18T11:07:53.1Z',
    );
  });

  it('ISO timestamps in legacy headers, also with a space and without offset', () => {
    expect(parse('<13>2024-01-18T11:07:53.520+01:00 web01 app[77]: started').header).toMatchObject({
      timestamp: '2024-01-18T11:07:53.520+01:00',
      hostname: 'web01',
      appName: 'app',
      procId: '77',
    });
    expect(parse('<13>2024-01-18 11:07:53 web01 app: started').header.timestamp).toBe('2024-01-18T11:07:53Z');
  });

  it('a missing HOSTNAME: the TAG follows the timestamp', () => {
    const p = parse('<13>Jan 18 11:07:53 sshd[42]: Connection closed');
    expect(p.header).toMatchObject({ hostname: null, appName: 'sshd', procId: '42' });
    expect(p.message).toBe('Connection closed');
    expect(parse('<13>Jan 18 11:07:53 kernel: oops').header).toMatchObject({
      hostname: null,
      appName: 'kernel',
    });
  });

  it('TAG forms: name[pid]:, name:, name[pid] before a space; words that are not tags stay in MSG', () => {
    expect(parse('<13>Jan 18 11:07:53 h app[12] text').header).toMatchObject({
      appName: 'app',
      procId: '12',
    });
    expect(parse('<13>Jan 18 11:07:53 h app[12]:text').message).toBe('text');
    expect(parse('<13>Jan 18 11:07:53 h http://x.test/ was visited').message).toBe(
      'http://x.test/ was visited',
    );
    expect(parse('<13>Jan 18 11:07:53 h 10:22:33 clock').message).toBe('10:22:33 clock');
    expect(parse('<13>Jan 18 11:07:53 h CEF:0|a|b|c|d|e|f|').header.appName).toBeNull();
    expect(parse('<13>Jan 18 11:07:53 h just words').header.appName).toBeNull();
  });

  it('PRI edge cases: the largest, leading zeros, and malformed ones kept whole', () => {
    expect(parse('<191>Jan 18 11:07:53 h a: x').header).toMatchObject({ facility: 23, severity: 7 });
    expect(parse('<0>Jan 18 11:07:53 h a: x').header).toMatchObject({ facility: 0, severity: 0 });
    expect(parse('<013>Jan 18 11:07:53 h a: x').header).toMatchObject({ facility: 1, severity: 5 });
    for (const raw of ['<192>x', '<>x', '<1234>x', '<abc>x', '<13']) {
      const p = parse(raw);
      expect(p.parseError, raw).toBe('invalid_pri');
      expect(p.message).toBe(raw);
      expect(p.header.facility).toBeNull();
    }
  });

  it('an empty message', () => {
    expect(parse('')).toMatchObject({ parseError: 'empty', message: '' });
    expect(parse('<13>')).toMatchObject({ parseError: null, message: '' });
  });
});

describe('bytes', () => {
  it('keeps invalid UTF-8 (replacement characters in text) and marks it', () => {
    const raw = Buffer.concat([
      Buffer.from('<13>Jan 18 11:07:53 h app: caf'),
      Buffer.from([0xe9, 0x20, 0xff]),
    ]);
    const p = parse(raw);
    expect(p.invalidUtf8).toBe(true);
    expect(p.message).toBe('caf\ufffd \ufffd');
    expect(p.header.appName).toBe('app');
    expect(parse('<13>Jan 18 11:07:53 h app: café ✓').invalidUtf8).toBe(false);
  });

  it('msgOffset is the byte offset of MSG, also after multi-byte characters and a BOM', () => {
    const raw = Buffer.from(`<13>1 - hôst app - - [a b="ü"] ${BOM}Grüße`, 'utf8');
    const p = parseSyslog(raw, { receivedAtMs: jan18 });
    // a non-ASCII hostname is not PRINTUSASCII: the header stops there
    expect(p.parseError).toBe('invalid_hostname');
    const ok = Buffer.from(`<13>1 - host app - - [a b="ü"] ${BOM}Grüße`, 'utf8');
    const q = parseSyslog(ok, { receivedAtMs: jan18 });
    expect(q.header.structuredData).toEqual({ a: { b: 'ü' } });
    expect(ok.subarray(q.header.msgOffset!).toString('utf8')).toBe('Grüße');
  });

  it('never lets a wire key reach an object prototype', () => {
    const p = parse('<13>1 - h a - - [__proto__ polluted="yes"][x@1 __proto__="v"] m');
    expect(Object.getPrototypeOf(p.header.structuredData)).toBeNull();
    expect({ ...Object.getOwnPropertyDescriptor(p.header.structuredData, '__proto__')?.value }).toEqual({
      polluted: 'yes',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const x = JSON.parse(JSON.stringify(p.header.structuredData))['x@1'];
    expect(Object.keys(x)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(x, '__proto__')?.value).toBe('v');
  });

  it('parseSyslogHeader gives the same header without decoding MSG', () => {
    const raw = Buffer.from('<165>1 2003-10-11T22:14:15.003Z host app - ID47 [a b="c"] msg');
    expect(parseSyslogHeader(raw, { receivedAtMs: jan18 }).header).toEqual(parse(raw).header);
  });
});

describe('parseSyslogHeaderInto (one result reused, as the listeners do)', () => {
  it('leaves nothing of the previous message in the result', () => {
    const messages = [
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3"] full',
      '<13>1 - - - - - -',
      '<34>Oct 11 22:14:15 mymachine su[230]: a 3164 message',
      'no header at all',
      '<13>1 2003-10-11T22:14:15.003Z h a - - [x@1 a="unterminated] m',
      '<14>1 2003-10-11T22:14:15.003Z host app - - [a b="1"][a c="2"] the same SD-ID twice: as objects',
      '',
    ].map((m) => Buffer.from(m));
    const hotPath: ParseOptions = {
      receivedAtMs: Date.UTC(2003, 9, 12),
      extensions: false,
      structuredData: 'json',
    };
    const reused = newParsedHeader();
    // every message after every other one, so each field is seen set and then cleared
    for (const before of messages) {
      for (const m of messages) {
        parseSyslogHeaderInto(before, hotPath, reused);
        const got = parseSyslogHeaderInto(m, hotPath, reused);
        const fresh = parseSyslogHeader(m, hotPath);
        expect(got).toBe(reused);
        expect({ ...got, header: { ...got.header } }).toEqual(fresh);
      }
    }
    const twice = parseSyslogHeaderInto(messages[5]!, hotPath, reused);
    expect(twice.structuredDataJson).toBeNull();
    expect(JSON.parse(JSON.stringify(twice.header.structuredData))).toEqual({ a: { b: '1', c: '2' } });
    const once = parseSyslogHeaderInto(messages[0]!, hotPath, reused);
    expect(once.header.structuredData).toBeNull();
    expect(JSON.parse(once.structuredDataJson!)).toEqual({ 'exampleSDID@32473': { iut: '3' } });
  });
});

describe('state kept between calls (parse-scratch.ts)', () => {
  it('the cached RFC 3164 timestamps follow the default time zone and the receive day', () => {
    const line = '<13>Jan 18 11:07:53 h a: x';
    expect(parse(line).header.timestamp).toBe('2024-01-18T11:07:53Z');
    expect(parse(line, { defaultTimezone: 'Europe/Berlin' }).header.timestamp).toBe(
      '2024-01-18T11:07:53+01:00',
    );
    expect(parse(line).header.timestamp).toBe('2024-01-18T11:07:53Z');
    // the same fields received a year later: another year, not the cached one
    const nextYear = Date.parse('2025-01-18T12:00:00Z');
    expect(parse(line, { receivedAtMs: nextYear }).header.timestamp).toBe('2025-01-18T11:07:53Z');
    expect(parse(line).header.timestamp).toBe('2024-01-18T11:07:53Z');
  });

  it('an unknown time zone throws and leaves the zone of the calls before in place', () => {
    const line = '<13>Jan 18 11:07:53 h a: x';
    const berlin = { defaultTimezone: 'Europe/Berlin' };
    expect(parse(line, berlin).header.timestamp).toBe('2024-01-18T11:07:53+01:00');
    expect(() => parse(line, { defaultTimezone: 'Nowhere/Atlantis' })).toThrow();
    expect(parse(line, berlin).header.timestamp).toBe('2024-01-18T11:07:53+01:00');
    expect(parse(line).header.timestamp).toBe('2024-01-18T11:07:53Z');
  });

  it('structured data as JSON text larger than the writer buffer, then a small one', () => {
    const json: ParseOptions = { receivedAtMs: jan18, structuredData: 'json' };
    const params = Array.from({ length: 400 }, (_, i) => `p${i}="${'v'.repeat(20)}\\"${i}"`).join(' ');
    const big = parseSyslogHeader(Buffer.from(`<13>1 - h a - - [big@1 ${params}] m`), json);
    expect(big.parseError).toBeNull();
    expect(big.structuredDataJson!.length).toBeGreaterThan(4096);
    const parsed = JSON.parse(big.structuredDataJson!) as Record<string, Record<string, string>>;
    expect(Object.keys(parsed['big@1']!)).toHaveLength(400);
    expect(parsed['big@1']!.p399).toBe(`${'v'.repeat(20)}"399`);
    const small = parseSyslogHeader(Buffer.from('<13>1 - h a - - [s@1 k="v"] m'), json);
    expect(small.structuredDataJson).toBe('{"s@1":{"k":"v"}}');
  });

  it('structured data as JSON text that fills the grown writer buffer to its last byte', () => {
    // a second param of control characters (six bytes each in JSON) larger than twice the buffer: the
    // buffer grows to exactly the room reserved for it, and the element's `}` must still fit
    for (const n of [1364, 1365, 6000, 20_000, 70_000]) {
      const v = '\u0001'.repeat(n);
      const p = parseSyslogHeader(Buffer.from(`<13>1 - h a - - [a x="1" \\="${v}"] m`), {
        receivedAtMs: jan18,
        structuredData: 'json',
      });
      expect(p.parseError).toBeNull();
      expect(JSON.parse(p.structuredDataJson!)).toEqual({ a: { x: '1', '\\': v } });
    }
  });

  it('more SD elements than the JSON writer tracks are made as objects', () => {
    const json: ParseOptions = { receivedAtMs: jan18, structuredData: 'json' };
    const elements = Array.from({ length: 70 }, (_, i) => `[e${i} k="${i}"]`).join('');
    const p = parseSyslogHeader(Buffer.from(`<13>1 - h a - - ${elements} m`), json);
    expect(p.parseError).toBeNull();
    expect(p.structuredDataJson).toBeNull();
    expect(Object.keys(p.header.structuredData!)).toHaveLength(70);
    expect(p.header.structuredData!.e69).toEqual({ k: '69' });
  });
});
