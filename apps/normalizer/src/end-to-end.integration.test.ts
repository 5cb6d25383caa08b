/**
 * The normalizer role end to end on the real stack: raw events as the gateway encodes them
 * (RawEventEncoder) — syslog lines with their parsed headers (sshd, sudo, PAM, CEF, LEEF, FortiGate,
 * PAN-OS…), Windows events from three shippers, a CloudTrail `Records` file, Azure and GCP records —
 * are produced to a raw topic of their own; `siem serve --role normalizer` consumes them and the rows
 * come out of the TimescaleDB engine in a schema of their own. Rows are compared column by column,
 * with the normalizer's output for the same record and with facts written down here from the
 * vendors' documentation (independent of the normalizer's code).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { decodeRawEvent, RawEventEncoder, type SourceType, type SyslogHeader } from '@siem/core';
import { KafkaProducerPool } from '@siem/kafka';
import {
  createScratchDatabase,
  deleteTopics,
  endOffsets,
  listTopics,
  logSummary,
  produceRecords,
  type RoleProcess,
  readTopic,
  stackUrls,
  startRoleProcess,
  uniqueSuffix,
  waitForCommitted,
  waitForEvents,
  waitUntil,
  withDb,
} from '@siem/local-stack';
import { normalizeAll } from '@siem/normalize';
import { createLogger } from '@siem/observability';
import { loadRootConfig } from '@siem/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { syslogRecords } from './testing/load.js';
import { normalizerEnv } from './testing/normalizer-env.js';
import { type Row, rowOf, storedRows } from './testing/rows.js';
import { normalizerScenario } from './testing/scenario.js';

const brokers = stackUrls.kafkaBrokers;
const FIXTURES = new URL('../../../libs/normalize/src/fixtures/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, FIXTURES));

interface Sent {
  /** fixture name */
  name: string;
  key: string;
  value: Buffer;
  /** the raw event id the encoder gave it */
  id: string;
}

const encoders = {
  syslog: new RawEventEncoder(
    { adapter: 'syslog_udp', transport: 'udp', peerAddress: '192.0.2.10', peerPort: 40000, tls: null },
    'acme',
  ),
  windows: new RawEventEncoder(
    { adapter: 'windows_events', transport: 'tcp', peerAddress: '192.0.2.20', peerPort: 50123, tls: null },
    'acme',
  ),
  cloud: new RawEventEncoder(
    { adapter: 'cloud_http', transport: 'https', peerAddress: '192.0.2.30', peerPort: 443, tls: null },
    'acme',
  ),
} satisfies Record<string, RawEventEncoder>;

function encode(
  name: string,
  key: string,
  sourceType: SourceType,
  payload: Buffer,
  syslog: SyslogHeader | null = null,
): Sent {
  const enc =
    sourceType === 'syslog' ? encoders.syslog : sourceType === 'windows' ? encoders.windows : encoders.cloud;
  const value = enc.encode({
    receivedAtMs: Date.now(),
    sourceType,
    syslog,
    marks: null,
    parseError: null,
    originalSize: payload.length,
    payload,
  });
  return { name, key, value, id: decodeRawEvent(value).id };
}

/** Every committed fixture of the normalizers, as raw records. */
function corpus(): Sent[] {
  const out: Sent[] = [];
  const cases = JSON.parse(fixture('syslog/cases.json').toString('utf8')) as {
    cases: Array<{ name: string; payload: string; syslog: SyslogHeader | null }>;
  };
  for (const c of cases.cases) {
    out.push(encode(c.name, c.syslog?.hostname ?? '192.0.2.10', 'syslog', Buffer.from(c.payload), c.syslog));
  }
  const files = (dir: string) =>
    readdirSync(new URL(`${dir}/`, FIXTURES))
      .filter((f) => f.endsWith('.json'))
      .sort();
  for (const f of files('windows')) {
    const payload = fixture(`windows/${f}`);
    out.push(encode(`windows/${f}`, 'windows-host', 'windows', payload));
  }
  for (const [dir, st] of [
    ['cloudtrail', 'cloudtrail'],
    ['azure_activity', 'azure_activity'],
    ['gcp_logging', 'gcp_logging'],
  ] as const) {
    for (const f of files(dir)) out.push(encode(`${dir}/${f}`, 'acme', st, fixture(`${dir}/${f}`)));
  }
  return out;
}

/**
 * What the rows must say, from the vendors' documentation of each sample (the same facts the
 * normalizers' unit tests check), keyed by fixture name; columns as stored.
 */
const facts: Record<string, Row> = {
  'sshd-accepted-publickey': {
    time: '2025-03-05T14:02:11.000000Z',
    host_name: 'web01',
    host_ip: '192.0.2.10',
    app_name: 'sshd',
    process_pid: 2817,
    category: 'authentication',
    class_uid: 3002,
    action: 'logon',
    outcome: 'success',
    user_name: 'alice',
    src_ip: '198.51.100.23',
    src_port: 52144,
    severity: 6,
  },
  'sshd-failed-invalid-user': {
    time: '2025-03-05T13:03:00.123000Z',
    outcome: 'failure',
    action: 'logon-failed',
    user_name: 'admin',
    src_ip: '203.0.113.50',
    src_port: 40022,
    severity: 5,
  },
  'sshd-invalid-user': { user_name: 'oracle', src_ip: '2001:db8::50', outcome: 'failure' },
  'sudo-command': {
    category: 'process',
    class_uid: 1007,
    action: 'sudo',
    outcome: 'success',
    user_name: 'alice',
  },
  'sudo-incorrect-password': {
    category: 'authentication',
    outcome: 'failure',
    user_name: 'bob',
    severity: 1,
  },
  'cef-arcsight-spec-example': {
    event_code: '100',
    message: 'worm successfully stopped',
    severity: 2,
    src_ip: '10.0.0.1',
    src_port: 1232,
    dst_ip: '2.1.2.2',
    category: 'network',
  },
  'leef-1.0-ibm-header': {
    event_code: '15345',
    app_name: 'MSExchange',
    user_name: 'joe.black',
    src_ip: '192.0.2.10',
    src_port: 81,
    dst_ip: '172.50.123.1',
    dst_port: 21,
    severity: 4,
  },
  'fortigate-traffic-deny': {
    time: '2022-02-24T19:16:36.000000Z',
    category: 'network',
    class_uid: 4001,
    action: 'deny',
    outcome: 'failure',
    src_ip: '10.1.100.12',
    src_port: 40402,
    dst_ip: '172.16.200.55',
    dst_port: 21,
    event_code: '0000000013',
    severity: 5,
  },
  'fortigate-admin-login-failed': {
    category: 'authentication',
    outcome: 'failure',
    user_name: 'admin',
    src_ip: '172.16.200.254',
    severity: 1,
  },
  'panos-threat': {
    category: 'network',
    class_uid: 2004,
    event_code: '91535',
    severity: 2,
    action: 'drop',
    outcome: 'failure',
  },
  'plain-systemd': {
    host_name: 'web01',
    app_name: 'systemd',
    process_pid: 1,
    message: 'Started Session 42 of user alice.',
    raw: '<30>Mar  5 14:06:00 web01 systemd[1]: Started Session 42 of user alice.',
  },
  'windows/nxlog-4624.json': {
    time: '2015-11-12T00:24:35.079785Z',
    source_type: 'windows',
    host_name: 'WIN-GG82ULGC9GO',
    event_code: '4624',
    category: 'authentication',
    class_uid: 3002,
    action: 'logon',
    outcome: 'success',
    user_name: 'Administrator',
    src_ip: '127.0.0.1',
    process_pid: 0x44c,
  },
  'windows/winlogbeat-4625.json': {
    time: '2015-09-08T22:54:54.962000Z',
    host_name: 'DC01.contoso.local',
    action: 'logon-failed',
    outcome: 'failure',
    severity: 5,
    user_name: 'Auditor',
  },
  'windows/fluentbit-4740.json': {
    category: 'account_management',
    class_uid: 3001,
    action: 'account-locked-out',
    user_name: 'Auditor',
    severity: 4,
  },
  'windows/winlogbeat-1102.json': {
    category: 'audit',
    class_uid: 1008,
    action: 'audit-log-cleared',
    severity: 3,
  },
  'cloudtrail/ec2-start-instances.json': {
    time: '2014-03-06T21:22:54.000000Z',
    source_type: 'cloudtrail',
    app_name: 'ec2.amazonaws.com',
    action: 'StartInstances',
    user_name: 'Alice',
    src_ip: '205.251.233.176',
    category: 'configuration',
    class_uid: 6003,
    host_ip: null,
  },
};

describe('normalizer role: siem.raw → normalizers → TimescaleDB', () => {
  const { id, topics, dataDir, release } = normalizerScenario('norm-e2e');
  const schema = `norm_e2e_${id}`;
  let proc: RoleProcess | null = null;

  afterAll(async () => {
    await release(proc);
    await withDb(stackUrls.timescale, (c) => c.query(`drop schema if exists "${schema}" cascade`)).catch(
      () => undefined,
    );
  });

  it('stores the right rows for syslog, Windows, CloudTrail (a Records batch), Azure and GCP records', async () => {
    proc = await startRoleProcess('normalizer', {
      ...normalizerEnv({
        dataDir,
        brokers,
        topics,
        rawPartitions: 3,
        group: `norm-e2e-${id}`,
        databaseUrl: stackUrls.timescale,
        apiPort: 28010,
      }),
      SIEM_STORAGE__SCHEMA: schema,
    });
    // the role creates the topics it uses (kafka.create_topics)
    expect((await listTopics(brokers, `norm-e2e.`)).filter((t) => t.endsWith(id)).sort()).toEqual(
      [topics.dlq, topics.normalized, topics.raw].sort(),
    );

    const sent = corpus();
    const config = loadRootConfig({
      env: {
        SIEM_KAFKA__BROKERS: brokers,
        SIEM_KAFKA__TOPICS__RAW__NAME: topics.raw,
        SIEM_KAFKA__TOPICS__DLQ__NAME: topics.dlq,
      },
    });
    const producer = new KafkaProducerPool({ kafka: config.kafka, logger: createLogger({ level: 'warn' }) });
    await producer.connect();
    try {
      await producer.writeBatch(sent.map((s) => ({ key: s.key, value: s.value })));
    } finally {
      await producer.close();
    }

    // what the normalizers make of each record, computed here for the column-by-column comparison
    const expected = new Map<string, { name: string; row: Row }>();
    for (const s of sent) {
      for (const ev of normalizeAll(decodeRawEvent(s.value)))
        expected.set(ev.eventId, { name: s.name, row: rowOf(ev) });
    }
    expect(sent.length).toBeGreaterThanOrEqual(40);
    expect(expected.size).toBeGreaterThan(sent.length); // batches give several rows

    await waitForEvents(stackUrls.timescale, schema, expected.size, 120_000, 500);
    const stored = await withDb(stackUrls.timescale, (c) => storedRows(c, schema));
    expect(stored.size).toBe(expected.size);

    // 1. every column of every row is what the normalizer made of the record
    for (const [eventId, e] of expected) {
      expect(stored.get(eventId), `${e.name} ${eventId}`).toEqual(e.row);
    }

    // 2. the facts of the samples, independent of the normalizers' code
    const byName = new Map<string, Row[]>();
    for (const [eventId, e] of expected) {
      const list = byName.get(e.name) ?? [];
      list.push(stored.get(eventId)!);
      byName.set(e.name, list);
    }
    for (const [name, f] of Object.entries(facts)) {
      const rows = byName.get(name);
      expect(rows, name).toHaveLength(1);
      expect(rows![0], name).toMatchObject({ tenant_id: 'acme', ...f });
    }
    // syslog and Windows rows keep the raw event id; the syslog source address is the peer's
    for (const s of sent.filter((x) => !x.name.includes('/') || x.name.startsWith('windows/'))) {
      expect(stored.get(s.id)?.source_type, s.name).toBe(
        s.name.startsWith('windows/') ? 'windows' : 'syslog',
      );
    }
    // the CloudTrail Records file: one row per record, in order, ids derived from the raw id
    const batch = sent.find((s) => s.name === 'cloudtrail/log-file-batch.json')!;
    const batchRows = [...expected].filter(([, e]) => e.name === batch.name).map(([eid]) => stored.get(eid)!);
    expect(batchRows.map((r) => r.action)).toEqual([
      'StartInstances',
      'CreateUser',
      'UpdateTrail',
      'ConsoleLogin',
      'ConsoleLogin',
    ]);
    expect(batchRows[0]!.event_id).toBe(batch.id);
    expect(new Set(batchRows.map((r) => r.event_id)).size).toBe(5);
    for (const r of batchRows) expect(String(r.event_id).slice(0, 13)).toBe(batch.id.slice(0, 13));
    expect(batchRows.find((r) => r.action === 'UpdateTrail')).toMatchObject({
      outcome: 'failure',
      severity: 4,
      attrs: expect.objectContaining({ error_code: 'TrailNotFoundException' }),
    });

    // nothing dead-lettered, every offset committed
    expect((await endOffsets(brokers, topics.dlq)).reduce((a, b) => a + b, 0)).toBe(0);
    const ends = await endOffsets(brokers, topics.raw);
    await waitForCommitted(brokers, `norm-e2e-${id}`, topics.raw, ends);

    const exit = await proc.stop('SIGTERM');
    expect(exit, logSummary(proc.lines)).toEqual({ code: 0, signal: null });
    expect(
      proc.logs(/./).filter((l) => l.level === 'error' || l.level === 'fatal'),
      logSummary(proc.lines),
    ).toEqual([]);
  });

  it('publishes stored rows to the normalized topic and the chosen severities to siem.severity.<name>', async () => {
    const rid = uniqueSuffix();
    const t = {
      raw: `norm-route.raw.${rid}`,
      dlq: `norm-route.dlq.${rid}`,
      normalized: `norm-route.norm.${rid}`,
      prefix: `norm-route.${rid}.severity.`,
    };
    const db = await createScratchDatabase(stackUrls.postgres, 'siem_norm_route');
    const routed = ['alert', 'critical', 'error'];
    let routing: RoleProcess | null = null;
    try {
      routing = await startRoleProcess('normalizer', {
        ...normalizerEnv({
          dataDir,
          brokers,
          topics: t,
          rawPartitions: 2,
          normalizedPartitions: 2,
          group: `norm-route-${rid}`,
          databaseUrl: db.url,
          apiPort: 28011,
        }),
        SIEM_KAFKA__TOPICS__SEVERITY_PREFIX: t.prefix,
        SIEM_KAFKA__TOPICS__SEVERITY_PARTITIONS: '1',
        SIEM_NORMALIZER__PUBLISH_NORMALIZED: 'true',
        SIEM_NORMALIZER__ROUTE_SEVERITIES: routed.join(','),
        // small batches: many of them, two in flight at a time
        SIEM_NORMALIZER__BATCH_MAX_RECORDS: '100',
      });
      // the corpus, then 3000 sshd lines from 16 hosts
      const sent = [...corpus(), ...syslogRecords(0, 3_000)];
      const rows = sent.flatMap((s) => normalizeAll(decodeRawEvent(s.value)));
      await produceRecords(
        brokers,
        t.raw,
        sent.map((s) => ({ key: s.key, value: s.value })),
      );
      await waitForEvents(db.url, 'siem', rows.length);
      const published = await waitUntil('every row on the normalized topic', async () => {
        const m = await readTopic(brokers, t.normalized);
        return m.length >= rows.length ? m : undefined;
      });
      const idsOf = (list: { value: Buffer | null }[]) =>
        list.map((m) => (JSON.parse(m.value!.toString('utf8')) as { eventId: string }).eventId).sort();
      expect(idsOf(published)).toEqual(rows.map((r) => r.eventId).sort());
      // each host's rows come out in the order its records went in, across batches written concurrently
      const order = (list: Array<{ key: string; eventId: string }>) => {
        const byKey = new Map<string, string[]>();
        for (const { key, eventId } of list) byKey.set(key, [...(byKey.get(key) ?? []), eventId]);
        return byKey;
      };
      const wanted = order(
        rows
          .filter((r) => r.tenantId === 'load')
          .map((r) => ({ key: `load/${r.hostName}`, eventId: r.eventId })),
      );
      const got = order(
        [...published]
          .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
          .map((m) => ({
            key: String(m.key),
            eventId: (JSON.parse(m.value!.toString('utf8')) as { eventId: string }).eventId,
          }))
          .filter((x) => x.key.startsWith('load/')),
      );
      expect(got.size).toBe(16);
      expect(got).toEqual(wanted);
      // the published object is the NormalizedEvent as JSON
      const one = JSON.parse(published[0]!.value!.toString('utf8')) as { eventId: string };
      expect(one).toEqual(JSON.parse(JSON.stringify(rows.find((r) => r.eventId === one.eventId))));

      const names = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'];
      for (const [severity, name] of names.entries()) {
        const want = rows
          .filter((r) => r.severity === severity)
          .map((r) => r.eventId)
          .sort();
        if (!routed.includes(name)) continue;
        expect(want.length, name).toBeGreaterThan(0);
        const got = await waitUntil(`${want.length} rows on ${t.prefix}${name}`, async () => {
          const m = await readTopic(brokers, `${t.prefix}${name}`);
          return m.length >= want.length ? m : undefined;
        });
        expect(idsOf(got), name).toEqual(want);
        // keyed by tenant and host
        for (const m of got) {
          const ev = JSON.parse(m.value!.toString('utf8')) as { tenantId: string; hostName: string | null };
          expect(String(m.key)).toBe(`${ev.tenantId}/${ev.hostName ?? ''}`);
        }
      }
      // severities not routed get nothing (their topics may exist: the role creates every severity topic)
      for (const name of names.filter((n) => !routed.includes(n))) {
        const ends = await endOffsets(brokers, `${t.prefix}${name}`);
        expect(
          ends.reduce((a, b) => a + b, 0),
          name,
        ).toBe(0);
      }
      const exit = await routing.stop('SIGTERM');
      expect(exit, logSummary(routing.lines)).toEqual({ code: 0, signal: null });
    } finally {
      await routing?.stop('SIGKILL');
      await db.drop();
      const made = await listTopics(brokers, `norm-route.`);
      await deleteTopics(
        brokers,
        made.filter((n) => n.includes(rid)),
      );
    }
  });
});
