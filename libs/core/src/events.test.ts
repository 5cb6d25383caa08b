import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSiemError } from './errors.js';
import {
  decodeRawEvent,
  RawEventEncoder,
  rawEventHeader,
  rawEventMarks,
  type SourceInfo,
  type SyslogHeader,
} from './events.js';

const source: SourceInfo = {
  adapter: 'syslog_tcp',
  transport: 'tls',
  peerAddress: '192.0.2.10',
  peerPort: 50514,
  tls: { subjectCn: 'host-a', sans: ['DNS:host-a.example'], fingerprint256: 'AA:BB' },
};

describe('raw event wire format', () => {
  it('carries a UTF-8 payload byte-for-byte with every envelope field', () => {
    const payload = Buffer.from(
      '<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - \u00e9t\u00e9 "quoted" \\ ok',
    );
    const encoder = new RawEventEncoder(source, 'acme');
    const decoded = decodeRawEvent(
      encoder.encode({
        receivedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
        sourceType: 'syslog',
        syslog: {
          format: 'rfc5424',
          facility: 4,
          severity: 2,
          timestamp: '2003-10-11T22:14:15.003Z',
          hostname: 'mymachine',
          appName: 'su',
          procId: null,
          msgId: 'ID47',
          structuredData: { 'exampleSDID@32473': { iut: '3' } },
          msgOffset: 48,
        },
        marks: ['truncated'],
        parseError: null,
        originalSize: 70_000,
        payload,
      }),
    );
    expect(decoded.payload.equals(payload)).toBe(true);
    expect(decoded).toMatchObject({
      version: 2,
      receivedAt: '2026-01-02T03:04:05.006Z',
      tenant: 'acme',
      sourceType: 'syslog',
      source,
      marks: ['truncated'],
      originalSize: 70_000,
      syslog: { hostname: 'mymachine', structuredData: { 'exampleSDID@32473': { iut: '3' } }, msgOffset: 48 },
    });
    expect(decoded.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('writes byte for byte what JSON.stringify writes for the same record', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: 'binary-ascii', maxLength: 30 }),
    );
    const nullable = fc.option(anyText, { nil: null });
    const int = fc.option(fc.nat({ max: 1_000_000 }), { nil: null });
    const header: fc.Arbitrary<SyslogHeader> = fc.record({
      format: fc.constantFrom('rfc5424' as const, 'rfc3164' as const, 'unknown' as const),
      facility: int,
      severity: int,
      timestamp: nullable,
      hostname: nullable,
      appName: nullable,
      procId: nullable,
      msgId: nullable,
      structuredData: fc.option(
        fc.dictionary(anyText, fc.dictionary(anyText, anyText, { maxKeys: 3 }), { maxKeys: 3 }),
        {
          nil: null,
        },
      ),
      msgOffset: int,
    });
    fc.assert(
      fc.property(
        fc.record({
          tenant: anyText,
          peer: nullable,
          id: anyText,
          ms: fc.integer({ min: 0, max: 4_102_444_800_000 }),
          syslog: fc.option(header, { nil: null }),
          marks: fc.subarray([...rawEventMarks]),
          parseError: nullable,
          originalSize: fc.nat(),
          payload: fc.oneof(
            anyText.map((t) => Buffer.from(t, 'utf8')),
            fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
          ),
        }),
        (c) => {
          const src: SourceInfo = { ...source, peerAddress: c.peer };
          const encoder = new RawEventEncoder(src, c.tenant);
          const input = {
            receivedAtMs: c.ms,
            sourceType: 'syslog' as const,
            syslog: c.syslog,
            marks: c.marks,
            parseError: c.parseError,
            originalSize: c.originalSize,
            payload: c.payload,
          };
          // With an id given (replays) and with a new one: the two ways the encoder writes a record.
          for (const wire of [encoder.encode({ ...input, id: c.id }), encoder.encode(input)]) {
            const lf = wire.indexOf(0x0a);
            const id = JSON.parse(wire.toString('utf8', 0, lf)).id as string;
            const header = rawEventHeader(
              {
                id,
                receivedAt: new Date(c.ms).toISOString(),
                tenant: c.tenant,
                sourceType: 'syslog',
                source: src,
                syslog: c.syslog,
                marks: c.marks,
                parseError: c.parseError,
                originalSize: c.originalSize,
              },
              c.payload.length,
            );
            expect(wire.toString('utf8', 0, lf)).toBe(JSON.stringify(header));
            expect(wire.subarray(lf + 1).equals(c.payload)).toBe(true);
            const decoded = decodeRawEvent(wire);
            expect(decoded.payload.equals(c.payload)).toBe(true);
            expect(decoded).toMatchObject({
              id,
              tenant: c.tenant,
              syslog: c.syslog,
              marks: c.marks,
              source: src,
            });
            expect(decoded.parseError).toBe(c.parseError);
            expect(decoded.originalSize).toBe(c.originalSize);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('keeps its per-format templates right when the format and the millisecond change between events', () => {
    const encoder = new RawEventEncoder(source, 'acme');
    const formats = ['rfc5424', 'rfc3164', 'unknown', null] as const;
    const base = Date.UTC(2026, 10, 23, 12, 0, 0, 0);
    for (let i = 0; i < 40; i++) {
      const format = formats[(i * 7) % 4]!;
      const syslog: SyslogHeader | null =
        format === null
          ? null
          : {
              format,
              facility: i % 24,
              severity: i % 8,
              timestamp: null,
              hostname: `h${i}`,
              appName: null,
              procId: null,
              msgId: null,
              structuredData: null,
              msgOffset: 3,
            };
      const ms = base + Math.floor(i / 3) * 1001;
      const payload = Buffer.from(`<13>event ${i}`);
      const input = {
        receivedAtMs: ms,
        sourceType: 'syslog' as const,
        syslog,
        marks: null,
        parseError: null,
      };
      const wire = encoder.encode({ ...input, originalSize: payload.length, payload });
      const lf = wire.indexOf(0x0a);
      const header = JSON.parse(wire.toString('utf8', 0, lf));
      const event = {
        ...input,
        receivedAt: new Date(ms).toISOString(),
        marks: [],
        originalSize: payload.length,
      };
      const expected = rawEventHeader({ ...event, id: header.id, tenant: 'acme', source }, payload.length);
      expect(wire.toString('utf8', 0, lf)).toBe(JSON.stringify(expected));
    }
  });

  it('encodes large payloads and many events in a row without overlapping values', () => {
    const encoder = new RawEventEncoder(source, 'acme');
    const payloads = [
      Buffer.alloc(70_000, 'x'),
      ...Array.from({ length: 3000 }, (_, i) => Buffer.from(`<13>event ${i} "q"`)),
    ];
    const values = payloads.map((payload) =>
      encoder.encode({
        receivedAtMs: Date.now(),
        sourceType: 'syslog',
        syslog: null,
        marks: null,
        parseError: null,
        originalSize: payload.length,
        payload,
      }),
    );
    values.forEach((v, i) => {
      expect(decodeRawEvent(v).payload.equals(payloads[i]!)).toBe(true);
    });
  });

  it('keeps invalid UTF-8 exactly, after the envelope line', () => {
    const payload = Buffer.from([0x3c, 0x31, 0x3e, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x41]);
    const encoder = new RawEventEncoder({ ...source, tls: null }, 't');
    const wire = encoder.encode({
      receivedAtMs: Date.now(),
      sourceType: 'syslog',
      syslog: null,
      marks: ['invalid_utf8'],
      parseError: 'no header',
      originalSize: payload.length,
      payload,
    });
    expect(wire.subarray(wire.indexOf(0x0a) + 1).equals(payload)).toBe(true);
    const decoded = decodeRawEvent(wire);
    expect(decoded.payload.equals(payload)).toBe(true);
    expect(decoded.parseError).toBe('no header');
    expect(decoded.syslog).toBeNull();
  });

  it('still reads version 1, where the payload was a JSON string (UTF-8 text or base64)', () => {
    const v1 = (payloadEncoding: string, payload: string) =>
      JSON.stringify({
        v: 1,
        id: '01a206e2-ae65-7018-aa5c-aaabb1fe9377',
        received_at: '2026-11-23T05:30:48.805Z',
        source_type: 'syslog',
        tenant: 'default',
        source: {
          adapter: 'syslog_tcp',
          transport: 'tcp',
          peer_address: '10.1.2.3',
          peer_port: 33856,
          tls: null,
        },
        syslog: {
          format: 'rfc3164',
          facility: 4,
          severity: 5,
          timestamp: '2026-11-23T06:30:48.000+01:00',
          hostname: 'bastion-1',
          app_name: 'sshd',
          proc_id: null,
          msg_id: null,
          structured_data: null,
          msg_offset: 29,
        },
        marks: [],
        parse_error: null,
        original_size: 40,
        payload_encoding: payloadEncoding,
        payload,
      });
    const text = '<37>Nov 23 06:30:48 bastion-1 sshd: a\nb "c"';
    const fromText = decodeRawEvent(Buffer.from(v1('utf8', text)));
    expect(fromText).toMatchObject({
      version: 1,
      tenant: 'default',
      originalSize: 40,
      syslog: { hostname: 'bastion-1', appName: 'sshd', procId: null, msgOffset: 29 },
    });
    expect(fromText.payload.toString('utf8')).toBe(text);
    const bytes = Buffer.from([0x3c, 0x31, 0x3e, 0xff, 0x0a, 0x41]);
    expect(decodeRawEvent(v1('base64', bytes.toString('base64'))).payload.equals(bytes)).toBe(true);
    // JSON across lines is still version 1: the first line alone is not an envelope.
    const pretty = JSON.stringify(JSON.parse(v1('utf8', text)), null, 2);
    expect(decodeRawEvent(pretty).payload.toString('utf8')).toBe(text);
  });

  it('rejects what is not a raw event, with the reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      ['[]', /record must be an object/],
      ['{"v":3}', /unsupported version/],
      ['{"v":3,"source_type":"syslog"}\n<13>x', /unsupported version/],
      ['{"v":2,"source_type":"syslog"}', /version 2 without its payload line/],
      ['{"v":1,"source_type":"printer"}', /unknown source_type/],
    ];
    for (const [text, reason] of cases) {
      try {
        decodeRawEvent(text);
        expect.unreachable(`accepted ${text}`);
      } catch (err) {
        expect(isSiemError(err, 'SIEM_ERR_RAW_EVENT_INVALID')).toBe(true);
        expect((err as Error).message).toMatch(reason);
      }
    }
  });
});
