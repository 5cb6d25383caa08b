import { eventCategories, eventOutcomes, type NormalizedEvent } from '@siem/core';

/**
 * Deterministic sample events for the storage tests and benchmarks: realistic field shapes (syslog
 * lines of 150–300 bytes, a few attributes, addresses, users) spread over a time range. Event `i` of a
 * given seed is always the same event, so a test can rebuild any batch to replay it.
 */
export interface SampleOptions {
  /** Distinguishes the ids of two runs (8 hex digits are taken from it). */
  seed: number;
  fromMs: number;
  toMs: number;
  count: number;
  tenants?: number;
  hosts?: number;
}

const HEX8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** A UUIDv7 carrying the event's millisecond, the seed and the index: unique per (seed, i). */
export function sampleEventId(seed: number, i: number, ms: number): string {
  const t = Math.floor(ms).toString(16).padStart(12, '0');
  const s = HEX8(seed);
  const n = i.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${s.slice(0, 3)}-8${s.slice(3, 6)}-${n}`;
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'root', 'svc-backup', null, null];
const APPS = ['sshd', 'sudo', 'kernel', 'nginx', 'postfix', 'cron'];
const ACTIONS = ['login', 'logout', 'connect', 'exec', 'modify', null];

export function sampleEvent(o: SampleOptions, i: number): NormalizedEvent {
  const span = o.toMs - o.fromMs;
  // Spread evenly, with a deterministic jitter so rows are not all on round milliseconds.
  const ms =
    o.fromMs + Math.floor((i * span) / o.count) + ((i * 7919) % Math.max(1, Math.floor(span / o.count)));
  const time = new Date(ms).toISOString();
  const tenant = `tenant-${i % (o.tenants ?? 3)}`;
  const host = `host-${(i * 31) % (o.hosts ?? 50)}`;
  const app = APPS[i % APPS.length]!;
  const user = USERS[i % USERS.length] ?? null;
  const severity = i % 97 === 0 ? 2 : i % 13 === 0 ? 3 : i % 5 === 0 ? 4 : 6;
  const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const port = 1024 + (i % 60000);
  // Every seventh message carries what encodings get wrong: multi-byte UTF-8, quotes, backslash, tab.
  const extra = i % 7 === 0 ? ' — café ☕ 😀 "quoted" \\ back\tslash' : '';
  const message = `${app}[${1000 + (i % 5000)}]: ${ACTIONS[i % ACTIONS.length] ?? 'event'} for ${user ?? 'unknown'} from ${src} port ${port} ssh2 session=${i.toString(36)}${extra}`;
  return {
    time,
    receivedAt: new Date(ms + 150).toISOString(),
    tenantId: tenant,
    eventId: sampleEventId(o.seed, i, ms),
    sourceType: 'syslog',
    hostName: host,
    hostIp: `192.168.${(i * 31) % 50}.${10 + (i % 200)}`,
    appName: app,
    severity,
    category: eventCategories[i % eventCategories.length]!,
    action: ACTIONS[i % ACTIONS.length] ?? null,
    outcome: eventOutcomes[i % eventOutcomes.length]!,
    userName: user,
    srcIp: src,
    srcPort: port,
    dstIp: i % 4 === 0 ? '2001:db8::1' : '10.0.0.1',
    dstPort: 22,
    processName: app,
    processPid: 1000 + (i % 5000),
    eventCode: i % 3 === 0 ? `E${4600 + (i % 50)}` : null,
    message,
    attrs: { facility: 'auth', seq: i, tags: ['sample', app] },
    raw: `<${32 + severity}>1 ${time} ${host} ${app} ${1000 + (i % 5000)} - - ${message}`,
    classUid: i % 2 === 0 ? 3002 : null,
  };
}

export function* sampleEvents(o: SampleOptions, from = 0, to = o.count): Generator<NormalizedEvent> {
  for (let i = from; i < to; i++) yield sampleEvent(o, i);
}

export function sampleBatch(o: SampleOptions, from: number, to: number): NormalizedEvent[] {
  return Array.from(sampleEvents(o, from, Math.min(to, o.count)));
}
