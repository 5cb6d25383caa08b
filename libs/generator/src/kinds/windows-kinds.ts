import type { Kind, KindContext } from './kind.js';

/**
 * Windows Security events as Winlogbeat 8 ships them (`output.logstash`: one JSON document per event,
 * `winlog.event_data` holding the event's EventData by name). The event data fields and their order
 * are the ones of Microsoft's "Advanced security audit policy" event pages.
 */

const PROVIDER = 'Microsoft-Windows-Security-Auditing';
const PROVIDER_GUID = '{54849625-5478-4994-A5BA-3E3B0328C30D}';

interface Spec {
  code: string;
  task: string;
  success: boolean;
  message: string;
  action: string;
}

function sid(rid: number): string {
  return `S-1-5-21-3623811015-3361044348-30300820-${rid}`;
}

function userRid(c: KindContext, user: string): number {
  const i = c.pop.users.indexOf(user);
  return 1100 + (i < 0 ? 900 + user.length : i);
}

function logonId(c: KindContext): string {
  return `0x${c.rng.range(0x10000, 0xfffffff).toString(16)}`;
}

const q = JSON.stringify;

/**
 * The Winlogbeat document around an event's data. The fixed parts are written as JSON text rather
 * than stringified from an object per event: this is the hot path of the Windows kinds.
 */
function doc(c: KindContext, s: Spec, computer: string, data: Record<string, string>): string {
  const fqdn = q(`${computer}.${c.pop.domain}`);
  const host = q(computer);
  const iso = c.t.iso;
  return (
    `{"@timestamp":"${iso}","@metadata":{"beat":"winlogbeat","type":"_doc","version":"8.15.0"},` +
    `"agent":{"type":"winlogbeat","version":"8.15.0","name":${host}},"ecs":{"version":"8.0.0"},` +
    `"host":{"name":${fqdn},"hostname":${host},"os":{"family":"windows","platform":"windows"}},` +
    `"event":{"code":"${s.code}","kind":"event","provider":"${PROVIDER}","action":${q(s.action)},` +
    `"outcome":"${s.success ? 'success' : 'failure'}","created":"${iso}"},"log":{"level":"information"},` +
    `"message":${q(s.message)},"winlog":{"api":"wineventlog","channel":"Security","computer_name":${fqdn},` +
    `"event_id":"${s.code}","keywords":["${s.success ? 'Audit Success' : 'Audit Failure'}"],"opcode":"Info",` +
    `"process":{"pid":780,"thread":{"id":${1000 + (c.seq % 4000)}}},"provider_guid":"${PROVIDER_GUID}",` +
    `"provider_name":"${PROVIDER}","record_id":${100000 + c.seq},"task":${q(s.task)},"event_data":${q(data)}}}`
  );
}

function subject(c: KindContext, computer: string): Record<string, string> {
  return {
    SubjectUserSid: 'S-1-5-18',
    SubjectUserName: `${computer}$`,
    SubjectDomainName: c.pop.netbios,
    SubjectLogonId: '0x3e7',
  };
}

const LOGON_TYPES = ['2', '3', '3', '3', '10', '11'];

function workstation(c: KindContext): string {
  return c.rng.skewed(c.pop.windowsHosts);
}

function v4(c: KindContext, list: readonly string[]): string {
  const a = c.rng.skewed(list);
  return a.includes(':') ? list[0]! : a;
}

const logon: Kind = {
  name: 'win_4624',
  channel: 'windows',
  weight: 30,
  attack: false,
  summary: 'Windows 4624: an account was successfully logged on',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const dc = c.rng.pick(c.pop.domainControllers);
    const type = c.rng.pick(LOGON_TYPES);
    return doc(
      c,
      {
        code: '4624',
        task: 'Logon',
        success: true,
        action: 'logged-in',
        message: 'An account was successfully logged on.',
      },
      dc,
      {
        ...subject(c, dc),
        TargetUserSid: sid(userRid(c, user)),
        TargetUserName: user,
        TargetDomainName: c.pop.netbios,
        TargetLogonId: logonId(c),
        LogonType: type,
        LogonProcessName: type === '3' ? 'NtLmSsp ' : 'User32 ',
        AuthenticationPackageName: type === '3' ? 'NTLM' : 'Negotiate',
        WorkstationName: workstation(c),
        LogonGuid: `{${c.rng.uuid().toUpperCase()}}`,
        TransmittedServices: '-',
        LmPackageName: type === '3' ? 'NTLM V2' : '-',
        KeyLength: type === '3' ? '128' : '0',
        ProcessId: type === '3' ? '0x0' : '0x2c4',
        ProcessName: type === '3' ? '-' : 'C:\\Windows\\System32\\winlogon.exe',
        IpAddress: v4(c, c.pop.clients),
        IpPort: String(c.rng.range(49152, 65535)),
        ImpersonationLevel: '%%1833',
        ElevatedToken: '%%1843',
      },
    );
  },
};

const logonFailed: Kind = {
  name: 'win_4625',
  channel: 'windows',
  weight: 6,
  attack: true,
  summary: 'Windows 4625: an account failed to log on (password spraying bursts)',
  render(c) {
    const attack = c.attacker !== null;
    const user = attack
      ? c.rng.pick([...c.pop.guessedUsers, ...c.pop.users.slice(0, 10)])
      : c.rng.skewed(c.pop.users);
    const unknown = !c.pop.users.includes(user);
    const dc = c.rng.pick(c.pop.domainControllers);
    return doc(
      c,
      {
        code: '4625',
        task: 'Logon',
        success: false,
        action: 'logon-failed',
        message: 'An account failed to log on.',
      },
      dc,
      {
        ...subject(c, dc),
        TargetUserSid: 'S-1-0-0',
        TargetUserName: user,
        TargetDomainName: c.pop.netbios,
        Status: '0xc000006d',
        FailureReason: '%%2313',
        SubStatus: unknown ? '0xc0000064' : '0xc000006a',
        LogonType: attack ? '3' : c.rng.pick(LOGON_TYPES),
        LogonProcessName: 'NtLmSsp ',
        AuthenticationPackageName: 'NTLM',
        WorkstationName: attack ? '-' : workstation(c),
        TransmittedServices: '-',
        LmPackageName: '-',
        KeyLength: '0',
        ProcessId: '0x0',
        ProcessName: '-',
        IpAddress: c.attacker ?? v4(c, c.pop.clients),
        IpPort: String(c.rng.range(49152, 65535)),
      },
    );
  },
};

const logoff: Kind = {
  name: 'win_4634',
  channel: 'windows',
  weight: 25,
  attack: false,
  summary: 'Windows 4634: an account was logged off',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const host = workstation(c);
    return doc(
      c,
      {
        code: '4634',
        task: 'Logoff',
        success: true,
        action: 'logged-out',
        message: 'An account was logged off.',
      },
      host,
      {
        TargetUserSid: sid(userRid(c, user)),
        TargetUserName: user,
        TargetDomainName: c.pop.netbios,
        TargetLogonId: logonId(c),
        LogonType: c.rng.pick(LOGON_TYPES),
      },
    );
  },
};

const PRIVILEGES = [
  'SeSecurityPrivilege',
  'SeBackupPrivilege',
  'SeRestorePrivilege',
  'SeTakeOwnershipPrivilege',
  'SeDebugPrivilege',
  'SeSystemEnvironmentPrivilege',
  'SeLoadDriverPrivilege',
  'SeImpersonatePrivilege',
];

const specialPrivileges: Kind = {
  name: 'win_4672',
  channel: 'windows',
  weight: 8,
  attack: false,
  summary: 'Windows 4672: special privileges assigned to new logon',
  render(c) {
    const user = c.rng.skewed(c.pop.admins);
    const dc = c.rng.pick(c.pop.domainControllers);
    return doc(
      c,
      {
        code: '4672',
        task: 'Special Logon',
        success: true,
        action: 'logged-in-special',
        message: 'Special privileges assigned to new logon.',
      },
      dc,
      {
        SubjectUserSid: sid(userRid(c, user)),
        SubjectUserName: user,
        SubjectDomainName: c.pop.netbios,
        SubjectLogonId: logonId(c),
        PrivilegeList: PRIVILEGES.slice(0, c.rng.range(3, PRIVILEGES.length)).join('\n\t\t\t'),
      },
    );
  },
};

const PROCESSES: readonly [string, string][] = [
  ['C:\\Windows\\System32\\cmd.exe', 'cmd.exe /c whoami /all'],
  [
    'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    'powershell.exe -NoProfile -Command Get-Process',
  ],
  ['C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p'],
  ['C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE', '"OUTLOOK.EXE"'],
  ['C:\\Windows\\System32\\net.exe', 'net user /domain'],
  ['C:\\Windows\\System32\\schtasks.exe', 'schtasks /query /fo LIST'],
  ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', '"chrome.exe" --type=renderer'],
];

const processCreated: Kind = {
  name: 'win_4688',
  channel: 'windows',
  weight: 20,
  attack: false,
  summary: 'Windows 4688: a new process has been created',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const host = workstation(c);
    const [image, cmdline] = c.rng.skewed(PROCESSES, 1.5);
    return doc(
      c,
      {
        code: '4688',
        task: 'Process Creation',
        success: true,
        action: 'created-process',
        message: 'A new process has been created.',
      },
      host,
      {
        SubjectUserSid: sid(userRid(c, user)),
        SubjectUserName: user,
        SubjectDomainName: c.pop.netbios,
        SubjectLogonId: logonId(c),
        NewProcessId: `0x${c.rng.range(0x100, 0xffff).toString(16)}`,
        NewProcessName: image,
        TokenElevationType: '%%1938',
        ProcessId: `0x${c.rng.range(0x100, 0xffff).toString(16)}`,
        CommandLine: cmdline,
        TargetUserSid: 'S-1-0-0',
        TargetUserName: '-',
        TargetDomainName: '-',
        TargetLogonId: '0x0',
        ParentProcessName: 'C:\\Windows\\explorer.exe',
        MandatoryLabel: 'S-1-16-8192',
      },
    );
  },
};

const accountCreated: Kind = {
  name: 'win_4720',
  channel: 'windows',
  weight: 1,
  attack: false,
  summary: 'Windows 4720: a user account was created',
  render(c) {
    const admin = c.rng.pick(c.pop.admins);
    const dc = c.rng.pick(c.pop.domainControllers);
    const created = `${c.rng.pick(c.pop.users).split('.')[0]}${c.rng.range(2, 99)}`;
    return doc(
      c,
      {
        code: '4720',
        task: 'User Account Management',
        success: true,
        action: 'added-user-account',
        message: 'A user account was created.',
      },
      dc,
      {
        TargetUserName: created,
        TargetDomainName: c.pop.netbios,
        TargetSid: sid(5000 + (c.seq % 10000)),
        SubjectUserSid: sid(userRid(c, admin)),
        SubjectUserName: admin,
        SubjectDomainName: c.pop.netbios,
        SubjectLogonId: logonId(c),
        PrivilegeList: '-',
        SamAccountName: created,
        DisplayName: '%%1793',
        UserPrincipalName: `${created}@${c.pop.domain}`,
        HomeDirectory: '%%1793',
        HomePath: '%%1793',
        ScriptPath: '%%1793',
        ProfilePath: '%%1793',
        UserWorkstations: '%%1793',
        PasswordLastSet: '%%1794',
        AccountExpires: '%%1794',
        PrimaryGroupId: '513',
        AllowedToDelegateTo: '-',
        OldUacValue: '0x0',
        NewUacValue: '0x15',
        UserAccountControl: '\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084',
        UserParameters: '%%1793',
        SidHistory: '-',
        LogonHours: '%%1797',
      },
    );
  },
};

const lockout: Kind = {
  name: 'win_4740',
  channel: 'windows',
  weight: 1,
  attack: false,
  summary: 'Windows 4740: a user account was locked out',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const dc = c.rng.pick(c.pop.domainControllers);
    return doc(
      c,
      {
        code: '4740',
        task: 'User Account Management',
        success: true,
        action: 'locked-out-user-account',
        message: 'A user account was locked out.',
      },
      dc,
      {
        TargetUserName: user,
        TargetDomainName: workstation(c),
        TargetSid: sid(userRid(c, user)),
        SubjectUserSid: 'S-1-5-18',
        SubjectUserName: `${dc}$`,
        SubjectDomainName: c.pop.netbios,
        SubjectLogonId: '0x3e7',
      },
    );
  },
};

export const windowsKinds: readonly Kind[] = [
  logon,
  logonFailed,
  logoff,
  specialPrivileges,
  processCreated,
  accountCreated,
  lockout,
];
