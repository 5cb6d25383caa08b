import type { NormalizedEvent } from '@siem/core';
import { describe, expect, it } from 'vitest';
import { formatEvent, tailLines, tailQuery } from './tail.js';

const event = {
  time: '2026-12-03T10:00:00.000Z',
  severity: 5,
  hostName: 'web01',
  hostIp: '192.0.2.7',
  appName: 'sshd',
  sourceType: 'syslog',
  processPid: 4242,
  category: 'authentication',
  action: 'logon-failed',
  outcome: 'failure',
  userName: 'bob',
  srcIp: '203.0.113.9',
  srcPort: 41000,
  eventCode: null,
  message: 'Failed password for invalid user bob\nsecond line',
} as unknown as NormalizedEvent;

describe('siem tail', () => {
  it('turns the filter options into the events API parameters, repeated ones repeated', () => {
    const q = tailQuery({
      host: ['a', 'b'],
      'source-type': ['syslog'],
      'min-severity': 'warning',
      q: 'x y',
      json: true,
    });
    expect(q.toString()).toBe('host=a&host=b&source_type=syslog&min_severity=warning&q=x+y');
  });

  it('prints an event as one line with who, what and from where', () => {
    expect(formatEvent(event)).toBe(
      '2026-12-03T10:00:00.000Z notice  web01 sshd[4242] authentication/logon-failed/failure user=bob src=203.0.113.9:41000 Failed password for invalid user bob second line',
    );
  });

  it('prints events and the dropped notices in stream order, as text or JSON', () => {
    expect(tailLines({ type: 'events', events: [event, event] }, false)).toHaveLength(2);
    expect(tailLines({ type: 'dropped', count: 12, total: 40 }, false)).toEqual([
      '-- 12 events dropped here: this client fell behind (40 dropped since it connected) --',
    ]);
    expect(tailLines({ type: 'dropped', count: 12, total: 40 }, true)).toEqual([
      '{"type":"dropped","count":12,"total":40}',
    ]);
    expect(JSON.parse(tailLines({ type: 'events', events: [event] }, true)[0]!)).toMatchObject({
      userName: 'bob',
    });
    expect(tailLines({ type: 'hello' }, false)).toEqual([]);
  });
});
