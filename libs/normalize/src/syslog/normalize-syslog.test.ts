import { describe, expect, it } from 'vitest';
import { normalize } from '../normalize.js';
import { RAW_ID, RECEIVED_AT, rawEvent, rowProblems, syslogCase, syslogCaseNames } from '../test-fixtures.js';
import { parseKeyValue } from './fortigate.js';
import { splitCsv } from './panos.js';

const row = (name: string) => normalize(syslogCase(name));

describe('syslog header', () => {
  it('takes time, host, program, pid and severity from the parsed header; MSG from msgOffset', () => {
    const ev = row('plain-systemd');
    expect(ev).toMatchObject({
      time: '2025-03-05T14:06:00+00:00',
      receivedAt: RECEIVED_AT,
      tenantId: 'acme',
      eventId: RAW_ID,
      sourceType: 'syslog',
      hostName: 'web01',
      hostIp: '192.0.2.10',
      appName: 'systemd',
      processName: 'systemd',
      processPid: 1,
      severity: 6,
      category: 'other',
      outcome: 'unknown',
      message: 'Started Session 42 of user alice.',
      classUid: null,
    });
    expect(ev.raw).toBe('<30>Mar  5 14:06:00 web01 systemd[1]: Started Session 42 of user alice.');
    expect(ev.attrs).toEqual({ facility: 3, syslog_format: 'rfc3164' });
  });

  it('keeps RFC 5424 MSGID as the event code and structured data in attrs', () => {
    const ev = row('rfc5424-structured-data');
    expect(ev.time).toBe('2003-10-11T22:14:15.003Z');
    expect(ev.eventCode).toBe('ID47');
    expect(ev.severity).toBe(5);
    expect(ev.message).toBe('An application event log entry...');
    expect(ev.attrs.structured_data).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
    });
  });

  it('without a header, still reads the PRI and uses receivedAt as the time', () => {
    const ev = row('headerless');
    expect(ev.time).toBe(RECEIVED_AT);
    expect(ev.severity).toBe(5);
    expect(ev.attrs.facility).toBe(1);
    expect(ev.message).toBe('no header here, just text');
  });

  it('uses a hostname that is an IP as host_ip, else the peer address (unwrapped from ::ffff:)', () => {
    expect(row('leef-1.0-ibm-header').hostIp).toBe('192.168.1.1');
    const ev = normalize(rawEvent('syslog', '<13>hello', { peer: '::ffff:198.51.100.9' }));
    expect(ev.hostIp).toBe('198.51.100.9');
    expect(normalize(rawEvent('syslog', '<13>hello', { peer: null })).hostIp).toBeNull();
  });

  it('every syslog fixture gives a row fit for the events table', () => {
    for (const name of syslogCaseNames()) expect(rowProblems(row(name)), name).toEqual([]);
  });
});

describe('sshd / sudo / PAM', () => {
  it('sshd accepted publickey: user, source address and port, success', () => {
    expect(row('sshd-accepted-publickey')).toMatchObject({
      category: 'authentication',
      classUid: 3002,
      action: 'logon',
      outcome: 'success',
      userName: 'alice',
      srcIp: '198.51.100.23',
      srcPort: 52144,
      severity: 6,
      attrs: { auth_method: 'publickey' },
    });
  });

  it('sshd failed password for an invalid user is a failure raised to notice', () => {
    const ev = row('sshd-failed-invalid-user');
    expect(ev).toMatchObject({
      time: '2025-03-05T14:03:00.123+01:00',
      outcome: 'failure',
      action: 'logon-failed',
      userName: 'admin',
      srcIp: '203.0.113.50',
      srcPort: 40022,
      severity: 5,
    });
    expect(ev.attrs.invalid_user).toBe(true);
  });

  it('sshd "Invalid user" with an IPv6 source', () => {
    expect(row('sshd-invalid-user')).toMatchObject({
      userName: 'oracle',
      srcIp: '2001:db8::50',
      outcome: 'failure',
    });
  });

  it('pam_unix authentication failure: user and rhost', () => {
    expect(row('pam-unix-auth-failure')).toMatchObject({
      outcome: 'failure',
      userName: 'root',
      srcIp: '203.0.113.50',
      attrs: { pam_module: 'pam_unix', pam_service: 'sshd', tty: 'ssh' },
    });
  });

  it('pam_unix session opened names the user and who opened it', () => {
    expect(row('pam-session-opened')).toMatchObject({
      action: 'session-opened',
      outcome: 'success',
      userName: 'root',
      attrs: { by_user: 'alice', by_uid: 1000 },
    });
  });

  it('sudo running a command is a process launch by the invoking user', () => {
    const ev = row('sudo-command');
    expect(ev).toMatchObject({
      category: 'process',
      classUid: 1007,
      action: 'sudo',
      outcome: 'success',
      userName: 'alice',
    });
    expect(ev.attrs).toMatchObject({
      target_user: 'root',
      command: '/usr/bin/systemctl restart nginx',
      cwd: '/srv/alice',
    });
    expect(ev.message?.startsWith('alice :')).toBe(true);
  });

  it('sudo with incorrect passwords is an authentication failure with the reason', () => {
    expect(row('sudo-incorrect-password')).toMatchObject({
      category: 'authentication',
      outcome: 'failure',
      userName: 'bob',
      severity: 1,
      attrs: { reason: '3 incorrect password attempts', target_user: 'root' },
    });
  });
});

describe('CEF and LEEF', () => {
  it('maps the ArcSight spec example: addresses, signature, severity 10 → critical', () => {
    expect(row('cef-arcsight-spec-example')).toMatchObject({
      eventCode: '100',
      message: 'worm successfully stopped',
      severity: 2,
      srcIp: '10.0.0.1',
      srcPort: 1232,
      dstIp: '2.1.2.2',
      category: 'network',
      attrs: { vendor: 'Security', cef: { device_product: 'threatmanager', extensions: { spt: '1232' } } },
    });
  });

  it('finds CEF after a program tag (Juniper ATP) and keeps the vendor extensions', () => {
    const ev = row('cef-juniper-atp-cnc');
    expect(ev).toMatchObject({
      eventCode: 'cnc',
      message: 'TROJAN_Vertexbot.CY',
      severity: 4,
      srcIp: '31.170.165.131',
      dstIp: '10.1.1.48',
    });
    expect((ev.attrs.cef as { extensions: Record<string, string> }).extensions.malwareCategory).toBe(
      'Unknown',
    );
  });

  it('takes CEF `msg` as the message and word severities', () => {
    expect(row('cef-elastic-rfc5424')).toMatchObject({ message: 'hello', severity: 5, eventCode: '18' });
  });

  it('maps LEEF 1.0 tab-separated attributes', () => {
    expect(row('leef-1.0-ibm-header')).toMatchObject({
      eventCode: '15345',
      appName: 'MSExchange',
      userName: 'joe.black',
      srcIp: '192.0.2.10',
      srcPort: 81,
      dstIp: '172.50.123.1',
      dstPort: 21,
      severity: 4,
    });
  });

  it('maps LEEF 2.0 with a custom delimiter, devTime and isLoginEvent', () => {
    expect(row('leef-2.0-login')).toMatchObject({
      time: '2019-01-18T04:07:53.520Z',
      category: 'authentication',
      classUid: 3002,
      action: 'logon',
      userName: 'joe.black',
      dstPort: 22,
      severity: 5,
    });
  });
});

describe('FortiGate key=value', () => {
  it('parses quoted and bare values, escaped quotes included', () => {
    expect(parseKeyValue('a=1 b="x y" c="say \\"hi\\"" d=')).toEqual({
      a: '1',
      b: 'x y',
      c: 'say "hi"',
      d: '',
    });
    expect(parseKeyValue('not key value')).toBeNull();
  });

  it('maps a denied traffic log: time with tz, addresses, level, logid, failure', () => {
    expect(row('fortigate-traffic-deny')).toMatchObject({
      time: '2022-02-24T11:16:36-08:00',
      category: 'network',
      classUid: 4001,
      action: 'deny',
      outcome: 'failure',
      srcIp: '10.1.100.12',
      srcPort: 40402,
      dstIp: '172.16.200.55',
      dstPort: 21,
      eventCode: '0000000013',
      severity: 5,
      appName: 'FortiGate',
    });
  });

  it('keeps the user of an identity-based policy', () => {
    expect(row('fortigate-traffic-user')).toMatchObject({
      userName: 'Jack',
      outcome: 'success',
      action: 'server-rst',
    });
  });

  it('maps a UTM app-ctrl block with its msg and warning level', () => {
    expect(row('fortigate-app-ctrl-block')).toMatchObject({
      message: 'Video/Audio: HTTP.Audio,',
      severity: 4,
      outcome: 'failure',
      dstPort: 8443,
    });
  });

  it('maps an admin login failure to authentication, with the epoch eventtime', () => {
    expect(row('fortigate-admin-login-failed')).toMatchObject({
      time: '2019-05-13T18:20:53.000Z',
      category: 'authentication',
      classUid: 3002,
      outcome: 'failure',
      userName: 'admin',
      srcIp: '172.16.200.254',
      severity: 1,
    });
  });
});

describe('Palo Alto PAN-OS CSV', () => {
  it('splits quoted CSV fields', () => {
    expect(splitCsv('a,"b,c",,"d ""e"""')).toEqual(['a', 'b,c', '', 'd "e"']);
    expect(splitCsv('x,')).toEqual(['x', '']);
  });

  it('maps a TRAFFIC end log', () => {
    const ev = row('panos-traffic');
    expect(ev).toMatchObject({
      category: 'network',
      classUid: 4001,
      eventCode: 'TRAFFIC:end',
      action: 'allow',
      outcome: 'success',
      srcIp: '182.80.119.50',
      dstIp: '176.164.175.181',
      srcPort: null,
      hostName: 'SumoStg05',
    });
    expect(ev.attrs.panos).toMatchObject({
      app: 'ping',
      rule: 'Unexpected Traffic',
      session_end_reason: 'aged-out',
      bytes: '122',
    });
  });

  it('maps a THREAT log: signature id, threat severity, drop', () => {
    const ev = row('panos-threat');
    expect(ev).toMatchObject({
      category: 'network',
      classUid: 2004,
      eventCode: '91535',
      severity: 2,
      action: 'drop',
      outcome: 'failure',
      srcPort: 47495,
      dstPort: 9034,
    });
    expect(ev.message).toContain('Realtek Jungle SDK Remote Code Execution Vulnerability');
    expect(ev.attrs.panos).toMatchObject({ thr_category: 'code-execution', direction: 'client-to-server' });
  });
});
