import { isSiemError } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader } from './bulk-frames.js';

describe('bulk channel frames', () => {
  it('reassembles frames cut anywhere, several per chunk', () => {
    const bodies = [Buffer.from('a\tb\n'.repeat(1000)), Buffer.alloc(0), Buffer.from('é\n')];
    const wire = Buffer.concat(bodies.flatMap((b, i) => encodeFrame({ id: i, op: 'copy_events' }, b)));
    for (const step of [1, 7, 4096, wire.length]) {
      const reader = new FrameReader(1 << 20);
      const frames = [];
      for (let at = 0; at < wire.length; at += step)
        frames.push(...reader.push(wire.subarray(at, at + step)));
      expect(frames.map((f) => f.header)).toEqual(bodies.map((_, i) => ({ id: i, op: 'copy_events' })));
      expect(frames.map((f) => f.body.toString())).toEqual(bodies.map((b) => b.toString()));
    }
  });

  it('refuses a frame announced above its limit before buffering it', () => {
    const reader = new FrameReader(1024);
    const [prefix] = encodeFrame({ id: 1 }, Buffer.alloc(2048));
    let err: unknown;
    try {
      reader.push(prefix!);
    } catch (e) {
      err = e;
    }
    expect(isSiemError(err, 'SIEM_ERR_FRAME')).toBe(true);
  });

  it('refuses a header that is not a JSON object', () => {
    const bad = Buffer.from('[1]');
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(4 + bad.length, 0);
    prefix.writeUInt32BE(bad.length, 4);
    expect(() => new FrameReader(1024).push(Buffer.concat([prefix, bad]))).toThrow(/not an object/);
  });
});
