import { decodeRawEvent, type NormalizedEvent, RawEventEncoder, type SourceType } from '@siem/core';
import { normalizeAll, SECURITY_EVENTS } from '@siem/normalize';
import { encodeSyslogMessage } from '@siem/syslog';
import { describe, expect, it } from 'vitest';
import { generatorFor } from './emit.js';
import { kindsOf } from './kinds/catalog.js';
import type { Protocol } from './protocols.js';

/**
 * Every kind goes through the project's own intake encoding and normalizers, as the gateway and the
 * normalizer would treat it, and comes out with the category and outcome a SIEM analyst expects.
 */

const START = Date.parse('2026-03-05T14:00:00Z');
const RECEIVED = START + 60_000;

function normalized(sourceType: SourceType, text: string): NormalizedEvent[] {
  const encoder = new RawEventEncoder(
    { adapter: 'test', transport: 'tcp', peerAddress: '127.0.0.1', peerPort: 40000, tls: null },
    'default',
  );
  const payload = Buffer.from(text, 'utf8');
  const value =
    sourceType === 'syslog'
      ? encodeSyslogMessage(encoder, payload, RECEIVED).value
      : encoder.encode({
          receivedAtMs: RECEIVED,
          sourceType,
          syslog: null,
          marks: null,
          parseError: null,
          originalSize: payload.length,
          payload,
        });
  return normalizeAll(decodeRawEvent(value));
}

function sample(protocol: Protocol, kind: string, n: number): string[] {
  const g = generatorFor(
    {
      protocol,
      kinds: [kind],
      seed: 21,
      startMs: START,
      rate: null,
      diurnal: false,
      malformed: 0,
      tenant: null,
    },
    21,
  );
  return Array.from({ length: n }, () => g.next().text);
}

type Expect = (text: string, ev: NormalizedEvent) => void;

const auth =
  (outcome: 'success' | 'failure'): Expect =>
  (_t, ev) => {
    expect(ev.category).toBe('authentication');
    expect(ev.outcome).toBe(outcome);
    expect(ev.userName).not.toBeNull();
  };

const firewall =
  (allowed: (t: string) => boolean): Expect =>
  (t, ev) => {
    expect(ev.category).toBe('network');
    expect(ev.outcome).toBe(allowed(t) ? 'success' : 'failure');
    expect(ev.srcIp).not.toBeNull();
    expect(ev.dstIp).not.toBeNull();
    expect(ev.dstPort).not.toBeNull();
  };

const syslogExpectations: Record<string, Expect> = {
  sshd_accepted: (t, ev) => {
    auth('success')(t, ev);
    expect(ev.srcIp).not.toBeNull();
  },
  sshd_failed: (t, ev) => {
    auth('failure')(t, ev);
    expect(ev.srcIp).not.toBeNull();
  },
  sshd_invalid_user: (t, ev) => {
    auth('failure')(t, ev);
    expect(ev.attrs.invalid_user).toBe(true);
  },
  sudo: (t, ev) => {
    if (t.includes('incorrect password')) auth('failure')(t, ev);
    else expect(ev).toMatchObject({ category: 'process', outcome: 'success', action: 'sudo' });
  },
  pam: (t, ev) => auth(t.includes('authentication failure') ? 'failure' : 'success')(t, ev),
  fortigate: firewall((t) => t.includes('action="accept"')),
  panos: firewall((t) => t.includes(',allow,')),
  cef_firewall: firewall((t) => t.includes('act=Accept')),
};

describe('every kind normalizes into the expected category and outcome', () => {
  it('covers every kind', () => {
    const tested = [
      ...Object.keys(syslogExpectations),
      ...kindsOf('windows').map((k) => k.name),
      ...kindsOf('cloud').map((k) => k.name),
    ];
    expect(new Set(tested).size).toBe(
      kindsOf('syslog').length + kindsOf('windows').length + kindsOf('cloud').length,
    );
  });

  for (const kind of kindsOf('syslog')) {
    it(`syslog ${kind.name}`, () => {
      for (const text of sample('tcp', kind.name, 200)) {
        const [ev] = normalized('syslog', text);
        expect(ev, text).toBeDefined();
        expect(ev!.sourceType).toBe('syslog');
        expect(Date.parse(ev!.time), text).toBeGreaterThanOrEqual(START);
        expect(Date.parse(ev!.time), text).toBeLessThan(START + 60_000);
        syslogExpectations[kind.name]!(text, ev!);
      }
    });
  }

  for (const kind of kindsOf('windows')) {
    it(`Windows ${kind.name} (Winlogbeat document)`, () => {
      const code = kind.name.slice(4);
      const spec = SECURITY_EVENTS[code]!;
      for (const text of sample('lumberjack', kind.name, 100)) {
        const [ev] = normalized('windows', text);
        expect(ev!).toMatchObject({
          sourceType: 'windows',
          eventCode: code,
          category: spec.category,
          action: spec.action,
        });
        if (spec.outcome !== undefined) expect(ev!.outcome).toBe(spec.outcome);
        expect(ev!.userName, text).not.toBeNull();
        expect(ev!.hostName).toMatch(/\.corp\.example$/);
        if (code === '4624' || code === '4625') expect(ev!.srcIp).not.toBeNull();
      }
    });
  }

  interface CloudRecord {
    responseElements?: { ConsoleLogin?: string };
    resultType?: string;
    protoPayload?: { authorizationInfo: { granted: boolean }[] };
  }
  const cloud: Record<string, (rec: CloudRecord, ev: NormalizedEvent) => void> = {
    cloudtrail_console_login: (rec, ev) => {
      expect(ev.category).toBe('authentication');
      expect(ev.outcome).toBe(rec.responseElements?.ConsoleLogin === 'Success' ? 'success' : 'failure');
    },
    cloudtrail_assume_role: (_rec, ev) =>
      expect(ev).toMatchObject({ category: 'authentication', outcome: 'success', action: 'AssumeRole' }),
    cloudtrail_api_error: (_rec, ev) => expect(ev.outcome).toBe('failure'),
    azure_activity: (rec, ev) => {
      expect(ev.category).toBe('configuration');
      expect(ev.outcome).toBe(rec.resultType === 'Success' ? 'success' : 'failure');
      expect(ev.userName).toMatch(/@corp\.example$/);
    },
    gcp_audit: (rec, ev) => {
      expect(ev.category).toBe('configuration');
      expect(ev.outcome).toBe(rec.protoPayload?.authorizationInfo[0]?.granted ? 'success' : 'failure');
    },
  };

  for (const kind of kindsOf('cloud')) {
    it(`cloud ${kind.name} (${kind.cloudType})`, () => {
      const texts = sample('http', kind.name, 100);
      for (const text of texts) {
        const [ev] = normalized(kind.cloudType!, text);
        expect(ev!.sourceType).toBe(kind.cloudType);
        expect(ev!.srcIp).not.toBeNull();
        cloud[kind.name]!(JSON.parse(text), ev!);
      }
      // as the intake sees a batch: every record of it becomes a row
      const wrap = { cloudtrail: 'Records', azure_activity: 'records', gcp_logging: 'entries' }[
        kind.cloudType!
      ];
      expect(normalized(kind.cloudType!, `{"${wrap}":[${texts.join(',')}]}`)).toHaveLength(100);
    });
  }
});
