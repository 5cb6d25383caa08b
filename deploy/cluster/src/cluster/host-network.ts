import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { run } from '@siem/local-stack';
import { clusterNetwork } from '../paths.js';

/** Chains kube-proxy, the kubelet and the CNI plugins create (KUBE-SERVICES, CNI-HOSTPORT-DNAT, CNI-<hash>…). */
export const ourChain = (name: string) => /^(KUBE|CNI)-/.test(name);
export const iptablesTables = ['filter', 'nat', 'mangle'] as const;
export const iptablesFamilies = ['iptables', 'ip6tables'] as const;

/** One table's dump as `iptables-save` prints it. */
export interface TableDump {
  chains: string[];
  /** Rules as `-A CHAIN …` lines. */
  rules: string[];
}

export function parseIptablesSave(text: string): TableDump {
  const chains: string[] = [];
  const rules: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) chains.push(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) rules.push(line);
  }
  return { chains, rules };
}

/**
 * The `iptables-restore --noflush` input that removes our chains from one table: first every rule of
 * another chain that jumps into ours (`-D` of the same rule), then our chains' rules (`-F`), then the
 * chains (`-X`). Null when the table holds nothing of ours.
 */
export function iptablesCleanupScript(table: string, dump: TableDump): string | null {
  const ours = dump.chains.filter(ourChain);
  if (ours.length === 0 && !dump.rules.some((r) => / -[jg] (KUBE|CNI)-/.test(r))) return null;
  const lines = [`*${table}`];
  for (const rule of dump.rules) {
    const chain = rule.split(' ')[1]!;
    if (!ourChain(chain) && / -[jg] (KUBE|CNI)-\S+/.test(rule)) lines.push(`-D ${rule.slice(3)}`);
  }
  for (const c of ours) lines.push(`-F ${c}`);
  for (const c of ours) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

async function dumpTable(family: string, table: string): Promise<TableDump | null> {
  const r = await run(`${family}-save`, ['-t', table]);
  return r.code === 0 ? parseIptablesSave(r.stdout) : null;
}

/** Our chains, as `iptables nat KUBE-SERVICES` lines (for the host snapshot). */
export async function listOurChains(): Promise<string[]> {
  const out: string[] = [];
  for (const family of iptablesFamilies) {
    for (const table of iptablesTables) {
      const dump = await dumpTable(family, table);
      for (const c of dump?.chains.filter(ourChain) ?? []) out.push(`${family} ${table} ${c}`);
    }
  }
  return out.sort();
}

export async function removeOurChains(): Promise<number> {
  let removed = 0;
  for (const family of iptablesFamilies) {
    for (const table of iptablesTables) {
      const dump = await dumpTable(family, table);
      if (!dump) continue;
      const script = iptablesCleanupScript(table, dump);
      if (!script) continue;
      const r = await runWithInput(`${family}-restore`, ['-w', '5', '--noflush'], script);
      if (r.code !== 0) throw new Error(`${family}-restore (table ${table}) failed: ${r.stderr.trim()}`);
      removed += dump.chains.filter(ourChain).length;
    }
  }
  return removed;
}

function runWithInput(
  command: string,
  args: string[],
  input: string,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stderr }));
    child.stdin.end(input);
  });
}

/** The pods' network namespaces (containerd's CRI names them `cni-<uuid>`). */
export function podNetns(): string[] {
  return existsSync('/run/netns')
    ? readdirSync('/run/netns')
        .filter((n) => n.startsWith('cni-'))
        .sort()
    : [];
}

/** The bridge and the veths on it (a veth's host end: `veth…`). */
export async function ourInterfaces(): Promise<string[]> {
  const r = await run('ip', ['-o', 'link', 'show']);
  const names: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\d+: ([^:@]+)[@:]/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name === clusterNetwork.bridge || line.includes(`master ${clusterNetwork.bridge} `)) names.push(name);
  }
  return names.sort();
}

export async function removeNetwork(): Promise<{ netns: number; links: number }> {
  const netns = podNetns();
  for (const ns of netns) {
    const r = await run('ip', ['netns', 'delete', ns]);
    if (r.code !== 0 && existsSync(`/run/netns/${ns}`)) {
      throw new Error(`ip netns delete ${ns}: ${r.stderr.trim()}`);
    }
  }
  const links = await ourInterfaces();
  // The veths first (most went with their namespace), the bridge last.
  for (const name of links.sort(
    (a, b) => Number(a === clusterNetwork.bridge) - Number(b === clusterNetwork.bridge),
  )) {
    const r = await run('ip', ['link', 'delete', name]);
    if (r.code !== 0 && (await ourInterfaces()).includes(name)) {
      throw new Error(`ip link delete ${name}: ${r.stderr.trim()}`);
    }
  }
  return { netns: netns.length, links: links.length };
}

/** Mount points in this mount namespace, decoded (mountinfo escapes spaces as \040). */
export function mountPoints(): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
    );
}

/** Mounts of the cluster: anything under the state folder, the pods' netns, containerd's runtime folder. */
export function ourMounts(stateDir: string): string[] {
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  return mountPoints().filter(
    (m) => under(m, stateDir) || /^\/run\/netns\/cni-/.test(m) || under(m, '/run/containerd'),
  );
}

/** Unmounts them deepest first (lazily when busy), until none is left. */
export async function unmountAll(stateDir: string): Promise<number> {
  let count = 0;
  for (let round = 0; round < 5; round++) {
    const mounts = [...new Set(ourMounts(stateDir))].sort((a, b) => b.length - a.length);
    if (mounts.length === 0) return count;
    for (const m of mounts) {
      const r = await run('umount', [m]);
      if (r.code !== 0) await run('umount', ['-l', m]);
      count++;
    }
  }
  const left = ourMounts(stateDir);
  if (left.length > 0) throw new Error(`still mounted: ${left.join(', ')}`);
  return count;
}
