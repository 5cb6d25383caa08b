import { describe, expect, it } from 'vitest';
import { normalize, normalizeAll } from '../normalize.js';
import { fixture, fixtureFiles, RAW_ID, rawEvent, rowProblems } from '../test-fixtures.js';

const one = (st: 'cloudtrail' | 'azure_activity' | 'gcp_logging', file: string) =>
  normalize(rawEvent(st, fixture(`${st}/${file}`)));

describe('AWS CloudTrail', () => {
  it('StartInstances: actor, action, source IP, region, account, resource', () => {
    const ev = one('cloudtrail', 'ec2-start-instances.json');
    expect(ev).toMatchObject({
      time: '2014-03-06T21:22:54Z',
      eventId: RAW_ID,
      appName: 'ec2.amazonaws.com',
      action: 'StartInstances',
      userName: 'Alice',
      srcIp: '205.251.233.176',
      outcome: 'success',
      severity: 6,
      category: 'configuration',
      classUid: 6003,
      hostIp: null,
    });
    expect(ev.attrs).toMatchObject({
      cloud_provider: 'aws',
      region: 'us-east-2',
      account_id: '123456789012',
      resource: 'i-ebeaf9e2',
      user_type: 'IAMUser',
    });
    // a one-record file stores the record itself as raw
    expect(JSON.parse(ev.raw).eventName).toBe('StartInstances');
  });

  it('an errorCode makes the call a failure, with the message', () => {
    expect(one('cloudtrail', 'error-update-trail.json')).toMatchObject({
      outcome: 'failure',
      severity: 4,
      category: 'audit',
      message: 'UpdateTrail by Alice failed: Unknown trail: myTrail2 for the user: 123456789012',
      attrs: { error_code: 'TrailNotFoundException', aws_event_id: 'b7d4398e-b2f0-4faa-9c76-e2d316a8d67f' },
    });
  });

  it('ConsoleLogin success and a root failure are authentication events', () => {
    expect(one('cloudtrail', 'console-login-success.json')).toMatchObject({
      category: 'authentication',
      classUid: 3002,
      outcome: 'success',
      userName: 'anaya',
      attrs: { mfa_used: false },
    });
    const root = one('cloudtrail', 'console-login-failure-root.json');
    expect(root).toMatchObject({ outcome: 'failure', userName: 'root', srcIp: '192.0.2.0' });
    expect(root.raw).toBe(fixture('cloudtrail/console-login-failure-root.json').toString('utf8'));
  });

  it('IAM CreateUser is account management', () => {
    expect(one('cloudtrail', 'iam-create-user.json')).toMatchObject({
      category: 'account_management',
      classUid: 3001,
      attrs: { resource: 'Bob' },
    });
  });

  it('a Records file gives one row per record with deterministic ids', () => {
    const raw = rawEvent('cloudtrail', fixture('cloudtrail/log-file-batch.json'));
    const rows = normalizeAll(raw);
    expect(rows.map((r) => r.action)).toEqual([
      'StartInstances',
      'CreateUser',
      'UpdateTrail',
      'ConsoleLogin',
      'ConsoleLogin',
    ]);
    expect(rows[0]!.eventId).toBe(RAW_ID);
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(5);
    expect(rows.map((r) => r.eventId)).toEqual(normalizeAll(raw).map((r) => r.eventId));
    for (const r of rows) expect(r.eventId.slice(0, 13)).toBe(RAW_ID.slice(0, 13)); // raw id's timestamp kept
    expect(JSON.parse(rows[2]!.raw).errorCode).toBe('TrailNotFoundException');
    expect(() => normalize(raw)).toThrow(/5 records; use normalizeAll/);
  });
});

describe('Azure Activity Log', () => {
  it('Event Hub records: caller from claims, IP, result, subscription and resource group', () => {
    const ev = one('azure_activity', 'event-hub-records.json');
    expect(ev).toMatchObject({
      time: '2019-01-21T22:14:26.979277Z',
      action: 'microsoft.support/supporttickets/write',
      appName: 'microsoft.support',
      userName: 'admin@contoso.com',
      srcIp: '111.111.111.11',
      outcome: 'success',
      severity: 6,
      classUid: 6003,
      category: 'configuration',
    });
    expect(ev.attrs).toMatchObject({
      cloud_provider: 'azure',
      subscription_id: 's1',
      resource_group: 'MSSupportGroup',
      region: 'global',
      result_signature: 'Succeeded.Created',
      azure_tenant_id: 'ffffffff-eeee-dddd-cccc-bbbbbbbbbbb0',
      duration_ms: 2826,
    });
  });

  it('REST/portal shape: {value} wrappers, caller, httpRequest-less claims IP', () => {
    expect(one('azure_activity', 'rest-administrative.json')).toMatchObject({
      time: '2018-01-29T20:42:31.381067Z',
      action: 'Microsoft.Network/networkSecurityGroups/write',
      appName: 'Microsoft.Network',
      userName: 'rob@contoso.com',
      srcIp: '111.111.1.111',
      outcome: 'success',
      attrs: { resource_group: 'myResourceGroup', azure_category: 'Administrative' },
    });
  });

  it('a records batch: Start is unknown, Failure is a failure with Error severity', () => {
    const rows = normalizeAll(
      rawEvent('azure_activity', fixture('azure_activity/records-batch-constructed.json')),
    );
    expect(rows.map((r) => [r.outcome, r.severity])).toEqual([
      ['unknown', 6],
      ['failure', 3],
    ]);
    expect(rows[1]!.message).toContain('does not have authorization');
    expect(rows[1]!.attrs.subscription_id).toBe('00000000-1111-2222-3333-444444444444');
  });
});

describe('GCP Cloud Logging', () => {
  it('Admin Activity audit entry: principal, method, caller IP, project, severity NOTICE', () => {
    const ev = one('gcp_logging', 'audit-pubsub-create-topic.json');
    expect(ev).toMatchObject({
      time: '2020-06-30T16:14:47.593398Z',
      appName: 'pubsub.googleapis.com',
      action: 'google.pubsub.v1.Publisher.CreateTopic',
      userName: 'robot@test-project.iam.gserviceaccount.com',
      srcIp: '192.168.0.1',
      outcome: 'success',
      severity: 5,
      category: 'configuration',
      classUid: 6003,
    });
    expect(ev.attrs).toMatchObject({
      project_id: 'test-project',
      audit_log: 'activity',
      resource: 'projects/test-project/topics/test-auditlogs-source',
      region: 'asia-east1',
    });
  });

  it('Data Access entry with an IPv6 caller', () => {
    expect(one('gcp_logging', 'audit-monitoring-create-time-series.json')).toMatchObject({
      srcIp: '2620:15c:0:200:1a75:e914:115b:e970',
      attrs: { audit_log: 'data_access' },
    });
  });

  it('a denied call (status 7, granted false) is a failure', () => {
    expect(one('gcp_logging', 'audit-permission-denied-constructed.json')).toMatchObject({
      outcome: 'failure',
      severity: 3,
      userName: 'mallory@example.com',
      attrs: { status_code: 7, region: 'us-central1-a' },
    });
  });

  it('a non-audit entry keeps its text payload; httpRequest gives addresses and outcome', () => {
    expect(one('gcp_logging', 'http-request-constructed.json')).toMatchObject({
      message: 'POST /login 401',
      srcIp: '198.51.100.44',
      outcome: 'failure',
      severity: 4,
      category: 'network',
      classUid: 4002,
      attrs: { region: 'europe-west1' },
    });
  });

  it('unwraps a Pub/Sub push envelope', () => {
    const entry = fixture('gcp_logging/audit-pubsub-create-topic.json');
    const push = JSON.stringify({
      message: { data: entry.toString('base64'), messageId: '1' },
      subscription: 's',
    });
    const ev = normalize(rawEvent('gcp_logging', push));
    expect(ev.action).toBe('google.pubsub.v1.Publisher.CreateTopic');
    expect(ev.raw).toBe(entry.toString('utf8'));
  });
});

describe('cloud corpus', () => {
  it('every cloud fixture gives rows fit for the events table', () => {
    for (const st of ['cloudtrail', 'azure_activity', 'gcp_logging'] as const) {
      for (const file of fixtureFiles(st)) {
        for (const r of normalizeAll(rawEvent(st, fixture(`${st}/${file}`))))
          expect(rowProblems(r), file).toEqual([]);
      }
    }
  });
});
