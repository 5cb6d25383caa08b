import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ClusterLayout } from './layout.js';

/**
 * Host folders the kubelet, containerd and CNI use outside the state folder (paths they do not let
 * us move), and the kernel switches `up` turns on. `up` records what the host had before it touched
 * anything; `down` removes only what `up` created and puts the switches back.
 */
export const hostDirs = [
  '/run/containerd',
  '/run/netns',
  '/var/lib/cni',
  '/var/log/containers',
  '/var/log/pods',
  // The kubelet's device-plugin socket folder is fixed, whatever its root folder.
  '/var/lib/kubelet',
];
export const kubeletDevicePluginSocket = '/var/lib/kubelet/device-plugins/kubelet.sock';
export const hostSysctls = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

export interface HostRecord {
  /** Folders that existed before the first `up`. */
  existed: string[];
  /** Kernel switches' values before `up` set them to 1. */
  sysctls: Record<string, string>;
}

function readSysctl(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Records the host as it is, unless a record from an earlier `up` (not yet taken down) is there. */
export function recordHost(layout: ClusterLayout): HostRecord {
  const old = readHostRecord(layout);
  if (old) return old;
  const sysctls: Record<string, string> = {};
  for (const f of hostSysctls) {
    const v = readSysctl(f);
    if (v !== null) sysctls[f] = v;
  }
  const record: HostRecord = { existed: hostDirs.filter((d) => existsSync(d)), sysctls };
  writeFileSync(layout.hostRecord, `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

export function readHostRecord(layout: ClusterLayout): HostRecord | null {
  try {
    return JSON.parse(readFileSync(layout.hostRecord, 'utf8')) as HostRecord;
  } catch {
    return null;
  }
}

/** Pods need forwarding between the bridge and the host, and bridged traffic through iptables. */
export function enableForwarding(): void {
  for (const f of hostSysctls) {
    if (readSysctl(f) !== null && readSysctl(f) !== '1') writeFileSync(f, '1\n');
  }
}

export function restoreSysctls(record: HostRecord): void {
  for (const [f, v] of Object.entries(record.sysctls)) {
    try {
      if (readSysctl(f) !== v) writeFileSync(f, `${v}\n`);
    } catch {
      /* the switch went away (module unloaded): nothing to restore */
    }
  }
}
