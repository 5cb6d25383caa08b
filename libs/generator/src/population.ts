import { Prng } from './prng.js';

/**
 * Who and what the generated events are about: users, hosts and addresses of one made-up
 * organisation, drawn once from the seed. Every address comes from the documentation ranges
 * (RFC 5737: 192.0.2.0/24 for clients, 198.51.100.0/24 for servers, 203.0.113.0/24 for the Internet;
 * RFC 3849: 2001:db8::/32), so generated traffic can never name a real network.
 */
export interface Population {
  /** DNS domain of the organisation (`corp.example`, or `<tenant>.example`). */
  domain: string;
  /** NetBIOS domain of the Windows forest. */
  netbios: string;
  /** Account names, most active first. */
  users: readonly string[];
  /** SSH key fingerprint (SHA256, base64 as OpenSSH prints it) of each user, by the user's index. */
  sshKeys: readonly string[];
  /** Names attackers try that mostly do not exist. */
  guessedUsers: readonly string[];
  admins: readonly string[];
  linuxHosts: readonly string[];
  windowsHosts: readonly string[];
  domainControllers: readonly string[];
  firewalls: readonly { name: string; serial: string }[];
  /** Office and VPN clients (192.0.2.0/24 and a share of 2001:db8:1::/48). */
  clients: readonly string[];
  servers: readonly string[];
  /** Internet peers that talk to the organisation's public services. */
  internet: readonly string[];
  /** The few addresses that run brute-force bursts. */
  attackers: readonly string[];
  awsAccount: string;
  azureSubscription: string;
  azureTenant: string;
  gcpProject: string;
}

const FIRST = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'uma',
  'victor',
  'walter',
  'xena',
  'yusuf',
  'zoe',
  'amir',
  'bea',
  'chen',
  'dmitri',
  'elena',
  'fatima',
  'goran',
  'hana',
  'ines',
  'jonas',
  'kofi',
  'lena',
  'mateo',
  'nora',
  'oscar',
  'priya',
  'quinn',
  'rosa',
  'sven',
  'tariq',
  'ursula',
  'vera',
  'wei',
  'yara',
  'zain',
];
const SERVICE_ACCOUNTS = ['svc_backup', 'svc_deploy', 'svc_monitor', 'svc_sql', 'ansible', 'jenkins'];
const GUESSED = [
  'root',
  'admin',
  'test',
  'oracle',
  'postgres',
  'ubuntu',
  'user',
  'guest',
  'git',
  'ftpuser',
  'support',
  'administrator',
  'pi',
  'deploy',
  'nagios',
  'mysql',
  'hadoop',
  'steam',
  'minecraft',
  'jenkins',
];
const LINUX_ROLES = ['web', 'api', 'db', 'cache', 'mq', 'build', 'bastion', 'mail', 'log', 'k8s-node'];

function ipv4(prefix: string, rng: Prng, count: number): string[] {
  const seen = new Set<number>();
  const out: string[] = [];
  while (out.length < count) {
    const last = rng.range(1, 254);
    if (seen.has(last)) continue;
    seen.add(last);
    out.push(`${prefix}.${last}`);
  }
  return out;
}

function ipv6(prefix: string, rng: Prng, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`${prefix}${rng.hex(4).replace(/^0+(?=.)/, '')}`);
  return out;
}

function shuffle<T>(items: T[], rng: Prng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** The population of `seed`; `tenant` names the organisation's domain. */
export function buildPopulation(seed: number, tenant: string | null): Population {
  // Its own sequence: the population is the same whatever the events drawn later.
  const rng = new Prng(seed ^ 0x5eed5eed);
  const label =
    tenant === null
      ? 'corp'
      : tenant
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .slice(0, 40) || 'corp';
  const users = shuffle(
    FIRST.flatMap((f, i) => [f, `${f}.${String.fromCharCode(97 + (i % 26))}`]).slice(0, 80),
    rng,
  );
  const linuxHosts: string[] = [];
  for (const role of LINUX_ROLES) {
    const n = rng.range(1, role === 'web' || role === 'k8s-node' ? 8 : 3);
    for (let i = 1; i <= n; i++) linuxHosts.push(`${role}-${String(i).padStart(2, '0')}`);
  }
  const windowsHosts: string[] = [];
  for (let i = 0; i < 40; i++) windowsHosts.push(`WS-${String(rng.range(1000, 9999))}`);
  const attackers = [...ipv4('203.0.113', rng, 4), ...ipv6('2001:db8:bad:1:', rng, 1).map((a) => `${a}::1`)];
  const allUsers = [...users, ...SERVICE_ACCOUNTS];
  const sshKeys = allUsers.map(() => {
    const bytes = Buffer.alloc(32);
    for (let i = 0; i < 32; i += 4) bytes.writeUInt32BE(rng.u32(), i);
    return bytes.toString('base64').replace(/=+$/, '');
  });
  return {
    domain: `${label}.example`,
    netbios: label.toUpperCase().replace(/-/g, '').slice(0, 15) || 'CORP',
    users: allUsers,
    sshKeys,
    guessedUsers: GUESSED,
    admins: users.slice(0, 6),
    linuxHosts: shuffle(linuxHosts, rng),
    windowsHosts,
    domainControllers: ['DC01', 'DC02'],
    firewalls: [
      { name: 'FGT-EDGE-01', serial: `FG100F${rng.hex(10).toUpperCase()}` },
      { name: 'PA-DC-01', serial: String(rng.range(100000000, 999999999)).padStart(12, '0') },
      { name: 'cp-gw-01', serial: rng.hex(8) },
    ],
    clients: [...ipv4('192.0.2', rng, 120), ...ipv6('2001:db8:1:', rng, 20).map((a) => `${a}::10`)],
    servers: ipv4('198.51.100', rng, 60),
    internet: ipv4('203.0.113', rng, 150).filter((a) => !attackers.includes(a)),
    attackers,
    awsAccount: String(rng.range(100000000, 999999999)) + String(rng.range(100, 999)),
    azureSubscription: rng.uuid(),
    azureTenant: rng.uuid(),
    gcpProject: `${label}-prod-${rng.range(100000, 999999)}`,
  };
}
