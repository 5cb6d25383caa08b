import { existsSync, readdirSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { clusterNetwork } from '../paths.js';
import { componentSpecs } from './components.js';
import { ourMounts, removeNetwork, removeOurChains, unmountAll } from './host-network.js';
import { clusterProcesses, killPodProcesses } from './host-processes.js';
import { hostDirs, kubeletDevicePluginSocket, readHostRecord, restoreSysctls } from './host-record.js';
import { type ClusterLayout, clusterLayout } from './layout.js';
import { stopComponent } from './processes.js';
import { type Log, Steps, type StepTiming, stdoutLog } from './steps.js';

/** The node identity matters only for arguments; stopping needs the names and binaries. */
const anyNode = { name: 'node', ip: '127.0.0.1' };

function removeHostDirs(layout: ClusterLayout): string[] {
  const record = readHostRecord(layout);
  const existed = new Set(record?.existed ?? []);
  const removed: string[] = [];
  // Our CNI network's cached results (libcni keeps them outside any folder we can move).
  const results = '/var/lib/cni/results';
  if (existsSync(results)) {
    for (const f of readdirSync(results)) {
      if (f.startsWith(`${clusterNetwork.cniNetworkName}-`)) rmSync(join(results, f), { force: true });
    }
  }
  // The kubelet's links to our pods' logs.
  if (existsSync('/var/log/containers')) {
    for (const f of readdirSync('/var/log/containers')) {
      const link = join('/var/log/containers', f);
      try {
        if (readlinkSync(link).startsWith(layout.kubelet.podLogsDir)) rmSync(link, { force: true });
      } catch {
        /* not a link */
      }
    }
  }
  rmSync(kubeletDevicePluginSocket, { force: true });
  // Without a record (no `up` since the last complete `down`), no folder is known to be ours.
  for (const dir of record ? hostDirs : []) {
    if (existed.has(dir) || !existsSync(dir)) continue;
    if (dir === '/run/containerd' || dir === '/var/lib/cni' || dir === '/var/lib/kubelet') {
      // Made by our containerd (shim sockets), CNI plugins or kubelet: nothing else lives there.
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
      continue;
    }
    try {
      rmdirSync(dir); // only when empty: something else may have moved in
      removed.push(dir);
    } catch {
      /* not empty: not only ours */
    }
  }
  if (record) restoreSysctls(record);
  return removed;
}

export interface DownResult {
  timings: StepTiming[];
  /** What was left of the cluster after it was stopped (should be nothing). */
  leftovers: string[];
}

/**
 * `npm run cluster -- down`: stops everything `up` started, in an order that never hangs (kube-proxy
 * and the kubelet, the pods' processes and shims, containerd, the control plane with the apiserver
 * before etcd), then removes what they left on the host: mounts, the pods' network namespaces, the
 * bridge and veths, KUBE-/CNI- iptables chains, CNI state, and puts the kernel switches back.
 * Safe to run at any time, after a failed `up`, and twice. etcd's data, the PKI and the imported
 * images stay in the state folder (`purge` removes the folder too).
 */
export async function clusterDown(
  log: Log = stdoutLog,
  options: { purge?: boolean } = {},
): Promise<DownResult> {
  const layout = clusterLayout();
  const steps = new Steps(log, 'SIEM_ERR_CLUSTER_STOP');
  const specs = componentSpecs(layout, anyNode);
  // Host-wide leftovers (netns, bridge, chains) are ours only if an `up` ran since the last complete
  // `down` (its record is there) or something of ours still runs or is mounted: never remove
  // another cluster's on a host where ours is not up.
  const under = (m: string) => m === layout.stateDir || m.startsWith(`${layout.stateDir}/`);
  const ours =
    readHostRecord(layout) !== null ||
    clusterProcesses(layout).length > 0 ||
    ourMounts(layout.stateDir).some(under);
  const skipped = 'skipped: no up since the last down';
  const byName = (n: string) => specs.find((s) => s.name === n)!;
  for (const name of ['kube-proxy', 'kubelet']) {
    await steps.run(
      `stop ${name}`,
      () => stopComponent(layout, byName(name)),
      (r) => (r ? 'stopped' : 'not running'),
    );
  }
  await steps.run(
    'kill pod processes and shims',
    () => killPodProcesses(layout),
    (n) => `${n} killed`,
  );
  for (const name of ['containerd', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
    await steps.run(
      `stop ${name}`,
      () => stopComponent(layout, byName(name)),
      (r) => (r ? 'stopped' : 'not running'),
    );
  }
  await steps.run(
    'kill stray processes',
    async () => {
      // Whatever of ours has no pid file (a start interrupted between spawn and pid file).
      const stray = clusterProcesses(layout);
      for (const p of stray) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await new Promise((r) => setTimeout(r, stray.length > 0 ? 500 : 0));
      return stray.length;
    },
    (n) => `${n} killed`,
  );
  await steps.run(
    'unmount',
    async () => (ours ? `${await unmountAll(layout.stateDir)} unmounted` : skipped),
    (r) => r,
  );
  await steps.run(
    'remove netns, veths, bridge',
    async () => {
      if (!ours) return skipped;
      const r = await removeNetwork();
      return `${r.netns} netns, ${r.links} links`;
    },
    (r) => r,
  );
  await steps.run(
    'remove KUBE-*/CNI-* iptables chains',
    async () => (ours ? `${await removeOurChains()} chains` : skipped),
    (r) => r,
  );
  await steps.run(
    'remove CNI state, restore host settings',
    async () => removeHostDirs(layout),
    (r) => (r.length > 0 ? `removed ${r.join(', ')}` : undefined),
  );
  const leftovers = [
    ...clusterProcesses(layout).map((p) => `process ${p.pid} ${p.cmdline.slice(0, 100)}`),
    ...ourMounts(layout.stateDir).map((m) => `mount ${m}`),
  ];
  if (leftovers.length === 0) {
    rmSync(layout.hostRecord, { force: true });
    if (options.purge) rmSync(layout.stateDir, { recursive: true, force: true });
  } else {
    log(`left behind:\n  ${leftovers.join('\n  ')}`);
  }
  return { timings: steps.timings, leftovers };
}
