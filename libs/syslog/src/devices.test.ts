import { describe, expect, it } from 'vitest';
import { deviceSamples } from './device-corpus.js';
import { parseSyslog } from './parser.js';

const headerKeys = [
  'format',
  'facility',
  'severity',
  'timestamp',
  'hostname',
  'appName',
  'procId',
  'msgId',
  'structuredData',
] as const;

describe('real device formats (fixtures/devices.json)', () => {
  it('has a source for every sample', () => {
    expect(deviceSamples.length).toBeGreaterThanOrEqual(25);
    for (const s of deviceSamples) expect(s.source.length, s.device).toBeGreaterThan(10);
  });

  for (const s of deviceSamples) {
    it(s.device, () => {
      const p = parseSyslog(Buffer.from(s.raw, 'utf8'), { receivedAtMs: Date.parse(s.receivedAt) });
      const e = s.expect;
      expect(p.parseError).toBe(e.parseError ?? null);
      for (const k of headerKeys) if (k in e) expect(p.header[k], k).toEqual(e[k]);
      if (e.message !== undefined) expect(p.message).toBe(e.message);
      if (e.messageStartsWith !== undefined)
        expect(p.message.startsWith(e.messageStartsWith), p.message).toBe(true);
      // msgOffset points at the message inside the payload
      expect(Buffer.from(s.raw, 'utf8').subarray(p.header.msgOffset!).toString('utf8')).toBe(p.message);
      if (e.sd !== undefined) {
        for (const [id, params] of Object.entries(e.sd))
          expect(p.header.structuredData?.[id]).toMatchObject(params);
      }
      if (e.cef !== undefined) {
        const { extensions, ...head } = e.cef;
        expect(p.cef).toMatchObject(head);
        if (extensions) expect({ ...p.cef!.extensions }).toMatchObject(extensions);
      } else {
        expect(p.cef).toBeNull();
      }
      if (e.leef !== undefined) {
        const { attributes, ...head } = e.leef;
        expect(p.leef).toMatchObject(head);
        if (attributes) expect({ ...p.leef!.attributes }).toEqual(attributes);
      } else {
        expect(p.leef).toBeNull();
      }
    });
  }
});
