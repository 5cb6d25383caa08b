import { decodeRawEvent, RawEventEncoder } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { encodeSyslogMessage } from './event-builder.js';

describe('encodeSyslogMessage', () => {
  it('makes the raw event a listener makes: header, structured data, marks, the payload as sent', () => {
    const encoder = new RawEventEncoder(
      { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '10.0.0.7', peerPort: 40000, tls: null },
      'default',
    );
    const payload = Buffer.from(
      '<165>1 2003-10-11T22:14:15.003Z fw-1 app 12 ID47 [a@1 x="1" y="q\\"uote"] hello',
    );
    const { hostname, value } = encodeSyslogMessage(encoder, payload, Date.UTC(2003, 9, 12));
    expect(hostname).toBe('fw-1');
    const ev = decodeRawEvent(value);
    expect(ev.payload.equals(payload)).toBe(true);
    expect(ev.marks).toEqual([]);
    expect(ev.syslog).toMatchObject({
      format: 'rfc5424',
      hostname: 'fw-1',
      appName: 'app',
      procId: '12',
      msgId: 'ID47',
      structuredData: { 'a@1': { x: '1', y: 'q"uote' } },
    });
    const bad = decodeRawEvent(encodeSyslogMessage(encoder, Buffer.from('<999>nonsense'), 0).value);
    expect(bad.marks).toEqual(['parse_error']);
    expect(bad.parseError).not.toBeNull();
  });
});
