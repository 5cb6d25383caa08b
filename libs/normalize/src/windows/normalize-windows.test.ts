import { describe, expect, it } from 'vitest';
import { normalize } from '../normalize.js';
import { fixture, fixtureFiles, rawEvent, rowProblems } from '../test-fixtures.js';
import { auditResult } from './normalize-windows.js';

const win = (file: string) => normalize(rawEvent('windows', fixture(`windows/${file}`)));

describe('Windows Security events across shippers', () => {
  it('4624 logon from NXLog, Fluent Bit StringInserts: same user, address, process, logon type', () => {
    for (const file of ['nxlog-4624.json', 'fluentbit-4624.json']) {
      const ev = win(file);
      expect(ev, file).toMatchObject({
        sourceType: 'windows',
        hostName: 'WIN-GG82ULGC9GO',
        appName: 'Microsoft-Windows-Security-Auditing',
        eventCode: '4624',
        category: 'authentication',
        classUid: 3002,
        action: 'logon',
        outcome: 'success',
        severity: 6,
        userName: 'Administrator',
        srcIp: '127.0.0.1',
        srcPort: null,
        processName: 'C:\\Windows\\System32\\svchost.exe',
        processPid: 0x44c,
        message: 'An account was successfully logged on.',
      });
      expect(ev.attrs, file).toMatchObject({
        channel: 'Security',
        logon_type: 2,
        logon_type_name: 'Interactive',
        user_domain: 'WIN-GG82ULGC9GO',
        subject_user: 'WORKGROUP\\WIN-GG82ULGC9GO$',
      });
    }
    expect(win('nxlog-4624.json').time).toBe('2015-11-12T00:24:35.079785Z');
    expect(win('fluentbit-4624.json').time).toBe('2015-11-12T00:24:35+00:00');
  });

  it('4625 failed logon from NXLog (zone-less time) and Winlogbeat: failure with status codes', () => {
    for (const file of ['nxlog-4625.json', 'winlogbeat-4625.json']) {
      const ev = win(file);
      expect(ev, file).toMatchObject({
        hostName: 'DC01.contoso.local',
        action: 'logon-failed',
        outcome: 'failure',
        severity: 5,
        userName: 'Auditor',
        processName: 'C:\\Windows\\System32\\winlogon.exe',
        attrs: { status: '0xc0000234', sub_status: '0x0', user_domain: 'CONTOSO' },
      });
    }
    const nx = win('nxlog-4625.json');
    expect(nx.time).toBe('2015-09-08T22:54:54Z');
    expect(nx.attrs.time_zone_assumed).toBe('UTC');
    expect(win('winlogbeat-4625.json').time).toBe('2015-09-08T22:54:54.962Z');
  });

  it('4648 explicit credentials: the acting subject is the user, the credentials owner a target', () => {
    expect(win('nxlog-4648.json')).toMatchObject({
      userName: 'dadmin',
      srcIp: '::1',
      attrs: { target_user: 'CONTOSO\\ladmin', target_server: 'localhost' },
    });
  });

  it('4688 process creation: new process, pid from hex, parent, target user', () => {
    for (const file of ['nxlog-4688.json', 'winlogbeat-4688.json']) {
      expect(win(file), file).toMatchObject({
        category: 'process',
        classUid: 1007,
        processName: 'C:\\Windows\\System32\\rundll32.exe',
        processPid: 0x2bc,
        userName: 'dadmin',
        attrs: { parent_process_name: 'C:\\Windows\\explorer.exe', parent_process_pid: 0xe74 },
      });
    }
  });

  it("4688 from OpenWEC's documented JSON output: process, parent, audit success, client address kept", () => {
    const ev = win('openwec-4688.json');
    expect(ev).toMatchObject({
      time: '2022-12-14T16:06:51.064360Z',
      hostName: 'win10.windomain.local',
      appName: 'Microsoft-Windows-Security-Auditing',
      eventCode: '4688',
      category: 'process',
      classUid: 1007,
      outcome: 'success',
      processName: 'C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe',
      processPid: 0x3a8,
      attrs: {
        shipper: 'openwec',
        channel: 'Security',
        parent_process_name: 'C:\\Windows\\System32\\services.exe',
      },
    });
    expect(ev.message).toMatch(/^A new process has been created/);
  });

  it('4740 lockout from NXLog and Fluent Bit: the locked account, account management, warning', () => {
    for (const file of ['nxlog-4740.json', 'fluentbit-4740.json']) {
      expect(win(file), file).toMatchObject({
        category: 'account_management',
        classUid: 3001,
        action: 'account-locked-out',
        userName: 'Auditor',
        severity: 4,
        attrs: { subject_user: 'CONTOSO\\DC01$', user_domain: 'WIN81' },
      });
    }
  });

  it('1102 log cleared (Elastic Winlogbeat golden output, user_data): audit, error severity', () => {
    const ev = win('winlogbeat-1102.json');
    expect(ev).toMatchObject({
      time: '2019-11-07T10:34:29.055919Z',
      hostName: 'WIN-41OB2LO92CR.wlbeat.local',
      appName: 'Microsoft-Windows-Eventlog',
      category: 'audit',
      classUid: 1008,
      action: 'audit-log-cleared',
      userName: 'Administrator',
      severity: 3,
    });
    expect(ev.message?.startsWith('The audit log was cleared.')).toBe(true);
  });

  it('keeps other events with EventID, channel, provider, computer and EventData in attrs', () => {
    const ev = win('nxlog-7036-other.json');
    expect(ev).toMatchObject({
      eventCode: '7036',
      category: 'other',
      classUid: null,
      appName: 'Service Control Manager',
      hostName: 'APP01.contoso.local',
      message: 'The Windows Update service entered the running state.',
      time: '2024-02-01T08:00:00.000000+01:00',
    });
    expect(ev.attrs).toMatchObject({
      channel: 'System',
      provider: 'Service Control Manager',
      computer: 'APP01.contoso.local',
      event_data: { param1: 'Windows Update', param2: 'running' },
    });
  });

  it('the whole Windows corpus gives rows fit for the events table', () => {
    for (const file of fixtureFiles('windows')) expect(rowProblems(win(file)), file).toEqual([]);
  });
});

describe('audit keywords', () => {
  it('reads success/failure from every encoding shippers use', () => {
    expect(auditResult(JSON.parse('-9214364837600034816'), null)).toBe('success'); // NXLog signed decimal
    expect(auditResult(JSON.parse('-9218868437227405312'), null)).toBe('failure');
    expect(auditResult('0x8020000000000000', null)).toBe('success'); // Fluent Bit hex
    expect(auditResult('9232379236109516800', null)).toBe('success'); // unsigned decimal string
    expect(auditResult(['Audit Failure'], null)).toBe('failure'); // Winlogbeat names
    expect(auditResult(undefined, 'AUDIT_FAILURE')).toBe('failure');
    expect(auditResult('0x80000000000000', null)).toBeNull(); // classic, no audit bit
  });
});
