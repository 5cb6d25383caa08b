import { describe, expect, it } from 'vitest';
import {
  decodeFrameHeader,
  decodeFramePayload,
  decodeSegmentHeader,
  encodeSegmentHeader,
  FRAME_HEADER_SIZE,
  FrameBuilder,
  segmentFileName,
  segmentIdOf,
} from './format.js';

describe('on-disk format', () => {
  it('round-trips a frame of records, UTF-8 keys and binary values included', () => {
    const b = new FrameBuilder(1, 1024);
    const records = [
      { key: 'host-é', value: Buffer.from('<13>Oct 11 22:14:15 mymachine su: ok') },
      { key: '', value: Buffer.from([0, 255, 1, 2]) },
      { key: 'tenant', value: Buffer.alloc(0) },
    ];
    for (const r of records) b.append(r, 1234);
    const frame = b.seal();
    expect(b.count).toBe(0);
    const bytes = Buffer.concat([frame.header, frame.payload]);
    const header = decodeFrameHeader(bytes);
    expect(header).toMatchObject({ count: 3, firstMs: 1234, payloadLength: frame.payload.length });
    const decoded = decodeFramePayload(bytes.subarray(FRAME_HEADER_SIZE), header!);
    expect(decoded).toEqual(records);
  });

  it('rejects a damaged payload instead of returning wrong records', () => {
    const b = new FrameBuilder(1, 1024);
    b.append({ key: 'k', value: Buffer.from('x'.repeat(500)) }, 1);
    const frame = b.seal();
    const header = decodeFrameHeader(frame.header)!;
    const bad = Buffer.from(frame.payload);
    bad[bad.length - 2] ^= 0xff;
    expect(typeof decodeFramePayload(bad, header)).toBe('string');
    const wrongCount = { ...header, count: 2 };
    expect(typeof decodeFramePayload(frame.payload, wrongCount)).toBe('string');
  });

  it('checks the segment header and names files by id', () => {
    const h = encodeSegmentHeader({ id: 42, nonce: 0xdeadbeef, order: 41.5, createdAtMs: 1700000000000 });
    expect(decodeSegmentHeader(h)).toEqual({
      id: 42,
      nonce: 0xdeadbeef,
      order: 41.5,
      createdAtMs: 1700000000000,
    });
    const flipped = Buffer.from(h);
    flipped[30] ^= 1;
    expect(decodeSegmentHeader(flipped)).toBe('header checksum mismatch');
    expect(decodeSegmentHeader(Buffer.alloc(48))).toBe('bad magic');
    expect(segmentFileName(42)).toBe('seg-0000000042.sbuf');
    expect(segmentIdOf('seg-0000000042.sbuf')).toBe(42);
    expect(segmentIdOf('ledger.json')).toBeNull();
  });
});
