import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSiemError } from './errors.js';
import {
  decodeRawEvent,
  RawEventEncoder,
  rawEventMarks,
  type SourceInfo,
  type SyslogHeader,
  writeJsonString,
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
      version: 1,
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

  it('escapes payload bytes exactly as JSON.stringify escapes the same text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.string({ unit: 'binary-ascii' }),
        (a, b) => {
          const text = a + b;
          const bytes = Buffer.from(text, 'utf8');
          const out = Buffer.alloc(bytes.length * 6 + 2);
          const end = writeJsonString(bytes, out, 0);
          expect(out.subarray(0, end).toString('utf8')).toBe(JSON.stringify(text));
        },
      ),
      { numRuns: 2000 },
    );
    // Every control character, quote and backslash, beside multi-byte characters.
    const all = `${String.fromCharCode(...Array.from({ length: 0x80 }, (_, i) => i))}\u00e9\u20ac\u{1f600}`;
    const bytes = Buffer.from(all, 'utf8');
    const out = Buffer.alloc(bytes.length * 6 + 2);
    expect(out.subarray(0, writeJsonString(bytes, out, 0)).toString('utf8')).toBe(JSON.stringify(all));
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
          const wire = new RawEventEncoder(src, c.tenant).encode({
            id: c.id,
            receivedAtMs: c.ms,
            sourceType: 'syslog',
            syslog: c.syslog,
            marks: c.marks,
            parseError: c.parseError,
            originalSize: c.originalSize,
            payload: c.payload,
          });
          const utf8 = isUtf8(c.payload);
          const h = c.syslog;
          const expected = JSON.stringify({
            v: 1,
            id: c.id,
            received_at: new Date(c.ms).toISOString(),
            source_type: 'syslog',
            tenant: c.tenant,
            source: {
              adapter: src.adapter,
              transport: src.transport,
              peer_address: src.peerAddress,
              peer_port: src.peerPort,
              tls: {
                subject_cn: src.tls!.subjectCn,
                sans: src.tls!.sans,
                fingerprint256: src.tls!.fingerprint256,
              },
            },
            syslog:
              h === null
                ? null
                : {
                    format: h.format,
                    facility: h.facility,
                    severity: h.severity,
                    timestamp: h.timestamp,
                    hostname: h.hostname,
                    app_name: h.appName,
                    proc_id: h.procId,
                    msg_id: h.msgId,
                    structured_data: h.structuredData,
                    msg_offset: h.msgOffset,
                  },
            marks: c.marks,
            parse_error: c.parseError,
            original_size: c.originalSize,
            payload_encoding: utf8 ? 'utf8' : 'base64',
            payload: c.payload.toString(utf8 ? 'utf8' : 'base64'),
          });
          expect(wire.toString('utf8')).toBe(expected);
        },
      ),
      { numRuns: 3000 },
    );
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

  it('keeps invalid UTF-8 exactly, as base64', () => {
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
    expect(JSON.parse(wire.toString()).payload_encoding).toBe('base64');
    const decoded = decodeRawEvent(wire);
    expect(decoded.payload.equals(payload)).toBe(true);
    expect(decoded.parseError).toBe('no header');
    expect(decoded.syslog).toBeNull();
  });

  it('rejects what is not a raw event, with the reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      ['[]', /record must be an object/],
      ['{"v":2}', /unsupported version/],
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
