import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { binDir } from '../paths.js';
import type { ClusterLayout } from './layout.js';

export interface HostProcess {
  pid: number;
  ppid: number;
  exe: string;
  cmdline: string;
}

export function listProcesses(): HostProcess[] {
  const out: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
      } catch {
        /* a kernel thread, or a zombie */
      }
      out.push({ pid, ppid, exe, cmdline });
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

const cgroupRoot = '/sys/fs/cgroup';

/** The kubelet's pod cgroups (`kubepods` under each v1 hierarchy), deepest first. */
export function podCgroupDirs(): string[] {
  const dirs: string[] = [];
  const walk = (dir: string) => {
    dirs.push(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  if (!existsSync(cgroupRoot)) return [];
  for (const hierarchy of readdirSync(cgroupRoot)) {
    const top = join(cgroupRoot, hierarchy, 'kubepods');
    try {
      if (statSync(top).isDirectory()) walk(top);
    } catch {
      /* no pods cgroup in this hierarchy */
    }
  }
  return dirs.sort((a, b) => b.length - a.length);
}

function pidsInCgroups(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) {
        if (line.trim() !== '') pids.add(Number(line));
      }
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/**
 * Processes of the cluster: its components (binaries from our bin folder; containerd, its shims and
 * runc when their command line names the state folder), the pods' processes (their descendants, and
 * every process in the pod cgroups).
 */
export function clusterProcesses(layout: ClusterLayout): HostProcess[] {
  const all = listProcesses();
  const ours = new Set<number>();
  for (const p of all) {
    if (p.pid === process.pid) continue;
    const runtime = /^(containerd|containerd-shim.*|runc)$/.test(basename(p.exe));
    if (p.exe.startsWith(`${binDir}/`) || (runtime && p.cmdline.includes(layout.stateDir))) ours.add(p.pid);
  }
  for (const pid of pidsInCgroups(podCgroupDirs())) ours.add(pid);
  // Descendants of what we found (pod processes reparented to a shim, a shim's runc).
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!ours.has(p.pid) && ours.has(p.ppid) && p.pid !== process.pid) {
        ours.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => ours.has(p.pid));
}

function isShim(p: HostProcess): boolean {
  return basename(p.exe).startsWith('containerd-shim');
}

/**
 * Kills the pods' processes, then the shims (SIGKILL: the kubelet is already stopped, nothing would
 * act on a graceful exit), until none is left; then removes the emptied pod cgroups.
 * Returns how many processes were killed.
 */
export async function killPodProcesses(layout: ClusterLayout, timeoutMs = 15_000): Promise<number> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const procs = clusterProcesses(layout).filter((p) => {
      // Components have their own orderly stop; here only pods and shims.
      const name = basename(p.exe);
      return isShim(p) || (name !== 'containerd' && !p.exe.startsWith(`${binDir}/`));
    });
    const pods = procs.filter((p) => !isShim(p));
    const targets = pods.length > 0 ? pods : procs;
    if (targets.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`processes survive SIGKILL: ${targets.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    }
    for (const p of targets) {
      try {
        process.kill(p.pid, 'SIGKILL');
        killed.add(p.pid);
      } catch {
        /* gone */
      }
    }
    await sleep(200);
  }
  for (const d of podCgroupDirs()) {
    try {
      rmdirSync(d);
    } catch {
      /* busy for a moment after its last process exits; the next down removes it */
    }
  }
  return killed.size;
}
