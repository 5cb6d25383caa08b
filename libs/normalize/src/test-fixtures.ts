import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  eventCategories,
  eventOutcomes,
  type NormalizedEvent,
  type RawEvent,
  type SourceType,
  type SyslogHeader,
} from '@siem/core';

/**
 * Test support (not exported from the package): raw events around the committed fixtures, and the
 * invariants every normalized row must hold whatever the input (the columns are typed: inet, integer,
 * timestamptz, jsonb).
 */

const FIXTURES = new URL('./fixtures/', import.meta.url);

export function fixture(path: string): Buffer {
  return readFileSync(new URL(path, FIXTURES));
}

export function fixtureFiles(sourceDir: string): string[] {
  return readdirSync(new URL(`${sourceDir}/`, FIXTURES))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export const RAW_ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
export const RECEIVED_AT = '2025-03-05T14:10:00.000Z';

export function rawEvent(
  sourceType: SourceType,
  payload: Buffer | string,
  opts: { syslog?: SyslogHeader | null; id?: string; peer?: string | null; receivedAt?: string } = {},
): RawEvent {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return {
    version: 1,
    id: opts.id ?? RAW_ID,
    receivedAt: opts.receivedAt ?? RECEIVED_AT,
    tenant: 'acme',
    sourceType,
    source: {
      adapter:
        sourceType === 'syslog' ? 'syslog_udp' : sourceType === 'windows' ? 'windows_events' : 'cloud_http',
      transport: sourceType === 'syslog' ? 'udp' : sourceType === 'windows' ? 'tcp' : 'https',
      peerAddress: opts.peer === undefined ? '192.0.2.10' : opts.peer,
      peerPort: 40000,
      tls: null,
    },
    syslog: opts.syslog ?? null,
    marks: [],
    parseError: null,
    originalSize: buf.length,
    payload: buf,
  };
}

export interface SyslogCase {
  name: string;
  source: string;
  payload: string;
  syslog: SyslogHeader | null;
}

let cases: Map<string, SyslogCase> | null = null;

export function syslogCase(name: string): RawEvent {
  if (cases === null) {
    const doc = JSON.parse(fixture('syslog/cases.json').toString('utf8')) as { cases: SyslogCase[] };
    cases = new Map(doc.cases.map((c) => [c.name, c]));
  }
  const c = cases.get(name);
  if (c === undefined) throw new Error(`no syslog case ${name}`);
  return rawEvent('syslog', c.payload, { syslog: c.syslog });
}

export function syslogCaseNames(): string[] {
  syslogCase('plain-systemd');
  return [...cases!.keys()];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The problems with a row (empty when it is fit for the events table). */
export function rowProblems(ev: NormalizedEvent): string[] {
  const p: string[] = [];
  if (Number.isNaN(Date.parse(ev.time))) p.push(`time ${ev.time}`);
  if (Number.isNaN(Date.parse(ev.receivedAt))) p.push(`receivedAt ${ev.receivedAt}`);
  if (!UUID.test(ev.eventId)) p.push(`eventId ${ev.eventId}`);
  if (!Number.isInteger(ev.severity) || ev.severity < 0 || ev.severity > 7) p.push(`severity ${ev.severity}`);
  if (!(eventCategories as readonly string[]).includes(ev.category)) p.push(`category ${ev.category}`);
  if (!(eventOutcomes as readonly string[]).includes(ev.outcome)) p.push(`outcome ${ev.outcome}`);
  for (const k of ['hostIp', 'srcIp', 'dstIp'] as const) {
    const v = ev[k];
    if (v !== null && (isIP(v) === 0 || v.includes('%'))) p.push(`${k} ${v}`);
  }
  for (const k of ['srcPort', 'dstPort'] as const) {
    const v = ev[k];
    if (v !== null && (!Number.isInteger(v) || v < 1 || v > 65535)) p.push(`${k} ${v}`);
  }
  if (ev.processPid !== null && (!Number.isInteger(ev.processPid) || ev.processPid < 0))
    p.push(`pid ${ev.processPid}`);
  if (ev.classUid !== null && !Number.isInteger(ev.classUid)) p.push(`classUid ${ev.classUid}`);
  if (ev.raw.includes('\u0000')) p.push('raw holds NUL');
  try {
    const json = JSON.stringify(ev.attrs);
    if (json.includes('\\u0000')) p.push('attrs hold NUL');
  } catch (err) {
    p.push(`attrs not JSON: ${(err as Error).message}`);
  }
  return p;
}
