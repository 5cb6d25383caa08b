import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { clusterNetwork } from '../paths.js';
import { listOurChains, ourInterfaces, ourMounts, podNetns } from './host-network.js';
import { clusterProcesses, podCgroupDirs } from './host-processes.js';
import { kubeletDevicePluginSocket } from './host-record.js';
import { clusterLayout } from './layout.js';

/** What of the cluster is on the host: after `down` it must equal what was there before `up`. */
export interface HostStateSnapshot {
  /** `<exe> <args>` of our components, containerd shims and pod processes (no pids: they change). */
  processes: string[];
  mounts: string[];
  /** cni0 and the veths on it. */
  interfaces: string[];
  /** /run/netns/cni-* */
  netns: string[];
  /** `iptables nat KUBE-SERVICES`… */
  iptablesChains: string[];
  /** The kubelet's pod cgroups. */
  cgroups: string[];
  /** Files outside the state folder: our CNI network's cached results and leases, the kubelet's socket. */
  hostFiles: string[];
}

function hostFiles(): string[] {
  const out: string[] = existsSync(kubeletDevicePluginSocket) ? [kubeletDevicePluginSocket] : [];
  for (const dir of ['/var/lib/cni/results', join('/var/lib/cni/networks', clusterNetwork.cniNetworkName)]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (dir.endsWith('results') && !f.startsWith(`${clusterNetwork.cniNetworkName}-`)) continue;
      out.push(join(dir, f));
    }
  }
  return out.sort();
}

export async function hostStateSnapshot(): Promise<HostStateSnapshot> {
  const layout = clusterLayout();
  return {
    processes: clusterProcesses(layout)
      .map((p) => p.cmdline || p.exe)
      .sort(),
    mounts: ourMounts(layout.stateDir).sort(),
    interfaces: await ourInterfaces(),
    netns: podNetns(),
    iptablesChains: await listOurChains(),
    cgroups: podCgroupDirs().sort(),
    hostFiles: hostFiles(),
  };
}
