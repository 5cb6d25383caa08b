import type { Kind, KindContext } from './kind.js';

/**
 * Linux authentication (OpenSSH, sudo, Linux-PAM) as rsyslog forwards it (RFC 3164, UTC), and
 * firewall traffic logs as the devices send them: FortiGate key=value (no header but the PRI), PAN-OS
 * CSV after a BSD header, CEF (Check Point's field use) after a BSD header. Message texts follow the
 * formats in the programs' sources and the vendors' log references.
 */

const AUTH = 4 * 8; // facility auth
const AUTHPRIV = 10 * 8;

function sshPort(c: KindContext): number {
  return c.rng.range(32768, 60999);
}

function linux(c: KindContext, pri: number, app: string): string {
  const host = c.attacker === null ? c.rng.skewed(c.pop.linuxHosts) : c.pop.linuxHosts[0]!;
  return `<${pri}>${c.t.bsd} ${host} ${app}[${c.rng.range(900, 65000)}]: `;
}

function remoteClient(c: KindContext): string {
  return c.rng.chance(0.8) ? c.rng.skewed(c.pop.clients) : c.rng.pick(c.pop.internet);
}

const sshdAccepted: Kind = {
  name: 'sshd_accepted',
  channel: 'syslog',
  weight: 8,
  attack: false,
  summary: 'OpenSSH: Accepted password/publickey',
  render(c) {
    const i = c.rng.skewedIndex(c.pop.users.length);
    const user = c.pop.users[i]!;
    const method = c.rng.chance(0.7) ? 'publickey' : 'password';
    // a user logs on with the same key every time: one fingerprint per user
    const tail = method === 'publickey' ? `: ED25519 SHA256:${c.pop.sshKeys[i]}` : '';
    return `${linux(c, AUTH + 6, 'sshd')}Accepted ${method} for ${user} from ${remoteClient(c)} port ${sshPort(c)} ssh2${tail}`;
  },
};

const sshdFailed: Kind = {
  name: 'sshd_failed',
  channel: 'syslog',
  weight: 4,
  attack: true,
  summary: 'OpenSSH: Failed password (brute-force bursts from a few addresses)',
  render(c) {
    if (c.attacker !== null) {
      const user = c.rng.pick(c.pop.guessedUsers);
      const invalid = user !== 'root' && c.rng.chance(0.7) ? 'invalid user ' : '';
      return `${linux(c, AUTH + 6, 'sshd')}Failed password for ${invalid}${user} from ${c.attacker} port ${sshPort(c)} ssh2`;
    }
    return `${linux(c, AUTH + 6, 'sshd')}Failed password for ${c.rng.skewed(c.pop.users)} from ${remoteClient(c)} port ${sshPort(c)} ssh2`;
  },
};

const sshdInvalidUser: Kind = {
  name: 'sshd_invalid_user',
  channel: 'syslog',
  weight: 2,
  attack: true,
  summary: 'OpenSSH: Invalid user',
  render(c) {
    const from = c.attacker ?? c.rng.pick(c.pop.internet);
    return `${linux(c, AUTH + 6, 'sshd')}Invalid user ${c.rng.pick(c.pop.guessedUsers)} from ${from} port ${sshPort(c)}`;
  },
};

const COMMANDS = [
  '/usr/bin/systemctl restart nginx',
  '/usr/bin/apt-get update',
  '/usr/bin/journalctl -u ssh',
  '/bin/cat /var/log/auth.log',
  '/usr/bin/docker ps',
  '/usr/sbin/reboot',
  '/usr/bin/vim /etc/hosts',
  '/usr/bin/id',
];

const sudo: Kind = {
  name: 'sudo',
  channel: 'syslog',
  weight: 3,
  attack: false,
  summary: 'sudo: a command run as root, sometimes after wrong passwords',
  render(c) {
    const user = c.rng.skewed(c.pop.admins);
    const cmd = c.rng.pick(COMMANDS);
    const tty = `pts/${c.rng.int(8)}`;
    if (c.rng.chance(0.1)) {
      return `${linux(c, AUTHPRIV + 1, 'sudo')}${user.padStart(8)} : 3 incorrect password attempts ; TTY=${tty} ; PWD=/home/${user} ; USER=root ; COMMAND=${cmd}`;
    }
    return `${linux(c, AUTHPRIV + 5, 'sudo')}${user.padStart(8)} : TTY=${tty} ; PWD=/home/${user} ; USER=root ; COMMAND=${cmd}`;
  },
};

const pam: Kind = {
  name: 'pam',
  channel: 'syslog',
  weight: 6,
  attack: false,
  summary: 'Linux-PAM pam_unix: sessions opened/closed, authentication failures',
  render(c) {
    const user = c.rng.skewed(c.pop.users);
    const r = c.rng.float();
    if (r < 0.12) {
      return `${linux(c, AUTHPRIV + 5, 'sshd')}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${remoteClient(c)}  user=${user}`;
    }
    const service = r < 0.6 ? 'sshd' : r < 0.85 ? 'cron' : 'sudo';
    const what = c.rng.chance(0.5) ? 'opened' : 'closed';
    const uid = 1000 + c.pop.users.indexOf(user);
    if (service === 'sudo') {
      return `${linux(c, AUTHPRIV + 6, 'sudo')}pam_unix(sudo:session): session ${what} for user root(uid=0)${what === 'opened' ? ` by ${user}(uid=${uid})` : ''}`;
    }
    const target = service === 'cron' ? 'root' : user;
    const targetUid = service === 'cron' ? 0 : uid;
    return `${linux(c, AUTHPRIV + 6, service === 'cron' ? 'CRON' : 'sshd')}pam_unix(${service}:session): session ${what} for user ${target}(uid=${targetUid})${what === 'opened' ? ' by (uid=0)' : ''}`;
  },
};

const SERVICES: readonly [string, number][] = [
  ['HTTPS', 443],
  ['HTTP', 80],
  ['DNS', 53],
  ['SSH', 22],
  ['RDP', 3389],
  ['SMTP', 25],
  ['SMB', 445],
  ['NTP', 123],
];

/** An IPv4 address of `list` (firewall logs here carry IPv4 flows). */
function v4(c: KindContext, list: readonly string[]): string {
  const a = c.rng.skewed(list);
  return a.includes(':') ? list[0]! : a;
}

interface Flow {
  src: string;
  dst: string;
  sport: number;
  service: string;
  dport: number;
  allow: boolean;
  inbound: boolean;
}

/** A flow: inside clients out to the Internet and servers, Internet peers in (mostly refused). */
function flow(c: KindContext): Flow {
  const inbound = c.rng.chance(0.25);
  const [service, dport] = c.rng.skewed(SERVICES, 1.8);
  const src = inbound ? c.rng.pick(c.pop.internet) : v4(c, c.pop.clients);
  const dst = inbound
    ? c.rng.pick(c.pop.servers)
    : c.rng.chance(0.6)
      ? c.rng.pick(c.pop.internet)
      : c.rng.pick(c.pop.servers);
  const allow = inbound ? c.rng.chance(0.35) : c.rng.chance(0.93);
  return { src, dst, sport: c.rng.range(1024, 65535), service, dport, allow, inbound };
}

const fortigate: Kind = {
  name: 'fortigate',
  channel: 'syslog',
  weight: 30,
  attack: false,
  summary: 'FortiGate traffic log (key=value), accept/deny',
  render(c) {
    const f = flow(c);
    const fw = c.pop.firewalls[0]!;
    const sent = f.allow ? c.rng.range(60, 200_000) : 0;
    const rcvd = f.allow ? c.rng.range(0, 2_000_000) : 0;
    return (
      `<${f.allow ? 190 : 189}>date=${c.t.date} time=${c.t.time} devname="${fw.name}" devid="${fw.serial}" ` +
      `eventtime=${c.t.ms}000000 tz="+0000" logid="0000000013" type="traffic" ` +
      `subtype="forward" level="${f.allow ? 'notice' : 'warning'}" vd="root" srcip=${f.src} srcport=${f.sport} ` +
      `srcintf="${f.inbound ? 'wan1' : 'port2'}" srcintfrole="${f.inbound ? 'wan' : 'lan'}" dstip=${f.dst} ` +
      `dstport=${f.dport} dstintf="${f.inbound ? 'port3' : 'wan1'}" dstintfrole="${f.inbound ? 'dmz' : 'wan'}" ` +
      `sessionid=${c.rng.range(1, 2 ** 31)} proto=${f.service === 'DNS' || f.service === 'NTP' ? 17 : 6} ` +
      `action="${f.allow ? 'accept' : 'deny'}" policyid=${f.allow ? c.rng.range(1, 40) : 0} policytype="policy" ` +
      `service="${f.service}" trandisp="${f.inbound ? 'noop' : 'snat'}" duration=${f.allow ? c.rng.range(1, 600) : 0} ` +
      `sentbyte=${sent} rcvdbyte=${rcvd} sentpkt=${Math.ceil(sent / 900)} rcvdpkt=${Math.ceil(rcvd / 1300)} appcat="unscanned"`
    );
  },
};

const panos: Kind = {
  name: 'panos',
  channel: 'syslog',
  weight: 30,
  attack: false,
  summary: 'PAN-OS TRAFFIC log (CSV), allow/deny',
  render(c) {
    const f = flow(c);
    const fw = c.pop.firewalls[1]!;
    const bytesSent = f.allow ? c.rng.range(60, 200_000) : 0;
    const bytesRcvd = f.allow ? c.rng.range(0, 2_000_000) : 0;
    const app =
      f.service === 'HTTPS' ? 'ssl' : f.service === 'HTTP' ? 'web-browsing' : f.service.toLowerCase();
    const user = f.inbound ? '' : `${c.pop.netbios.toLowerCase()}\\${c.rng.skewed(c.pop.users)}`;
    const fields = [
      '1',
      c.t.slashed,
      fw.serial,
      'TRAFFIC',
      f.allow ? 'end' : 'drop',
      '2561',
      c.t.slashed,
      f.src,
      f.dst,
      f.allow && !f.inbound ? '198.51.100.1' : '0.0.0.0',
      '0.0.0.0',
      f.allow ? (f.inbound ? 'dmz-inbound' : 'outbound-web') : 'interzone-default',
      user,
      '',
      app,
      'vsys1',
      f.inbound ? 'untrust' : 'trust',
      f.inbound ? 'dmz' : 'untrust',
      f.inbound ? 'ethernet1/1' : 'ethernet1/2',
      f.inbound ? 'ethernet1/3' : 'ethernet1/1',
      'default',
      c.t.slashed,
      String(c.rng.range(1, 2 ** 24)),
      '1',
      String(f.sport),
      String(f.dport),
      f.allow && !f.inbound ? String(c.rng.range(1024, 65535)) : '0',
      '0',
      '0x400000',
      f.service === 'DNS' || f.service === 'NTP' ? 'udp' : 'tcp',
      f.allow ? 'allow' : 'deny',
      String(bytesSent + bytesRcvd),
      String(bytesSent),
      String(bytesRcvd),
      String(Math.ceil((bytesSent + bytesRcvd) / 1000) + 1),
      c.t.slashed,
      String(f.allow ? c.rng.range(0, 600) : 0),
      'any',
      '0',
      String(c.seq),
      '0x0',
      f.inbound ? 'United States' : '192.0.2.0-192.0.2.255',
      f.inbound ? '198.51.100.0-198.51.100.255' : 'United States',
      '0',
      f.allow ? '1' : '0',
      f.allow ? '1' : '0',
      f.allow ? 'tcp-fin' : 'policy-deny',
    ];
    return `<14>${c.t.bsd} ${fw.name} ${fields.join(',')}`;
  },
};

const cef: Kind = {
  name: 'cef_firewall',
  channel: 'syslog',
  weight: 15,
  attack: false,
  summary: 'CEF firewall log (Check Point style), Accept/Drop',
  render(c) {
    const f = flow(c);
    const fw = c.pop.firewalls[2]!;
    const act = f.allow ? 'Accept' : 'Drop';
    return (
      `<134>${c.t.bsd} ${fw.name} CEF:0|Check Point|VPN-1 & FireWall-1|R81.20|${act}|${act}|${f.allow ? 1 : 5}|` +
      `act=${act} rt=${c.t.ms} src=${f.src} spt=${f.sport} dst=${f.dst} dpt=${f.dport} ` +
      `proto=${f.service === 'DNS' || f.service === 'NTP' ? 'UDP' : 'TCP'} app=${f.service} ` +
      `deviceDirection=${f.inbound ? 0 : 1} dvchost=${fw.name} cs1Label=Rule Name cs1=${f.allow ? 'Allow_Outbound' : 'Cleanup'}`
    );
  },
};

export const syslogKinds: readonly Kind[] = [
  sshdAccepted,
  sshdFailed,
  sshdInvalidUser,
  sudo,
  pam,
  fortigate,
  panos,
  cef,
];
