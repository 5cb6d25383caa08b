import { Resolver } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import { clusterNetwork, PAUSE_IMAGE } from '../paths.js';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  type HostStateSnapshot,
  hostStateSnapshot,
  kubectlOrThrow,
} from './index.js';

const log = (line: string) => process.stdout.write(`[cluster] ${line}\n`);

const probePod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'lifecycle-probe', namespace: 'default' },
  spec: {
    containers: [{ name: 'pause', image: PAUSE_IMAGE, imagePullPolicy: 'Never' }],
    terminationGracePeriodSeconds: 1,
  },
};

describe('the local cluster', () => {
  it('comes up Ready, runs a pod, serves DNS, and leaves nothing on the host once down', async () => {
    // A known baseline: whatever an earlier run left is removed first (down is idempotent).
    await clusterDown(log);
    const before: HostStateSnapshot = await hostStateSnapshot();
    let during: HostStateSnapshot | null = null;
    try {
      const up = await clusterUp(log);
      expect(up.timings.map((t) => t.step)).toContain('node Ready');

      const status = await clusterStatus();
      expect(status.components.filter((c) => !c.healthy)).toEqual([]);
      expect(status.node.ready).toBe(true);
      expect(status.corednsReady).toBe(true);

      await kubectlOrThrow(['apply', '-f', '-'], { input: JSON.stringify(probePod) });
      await kubectlOrThrow(['wait', '--for=condition=Ready', 'pod/lifecycle-probe', '--timeout=120s'], {
        timeoutMs: 130_000,
      });
      const podIp = await kubectlOrThrow(['get', 'pod', 'lifecycle-probe', '-o', 'jsonpath={.status.podIP}']);
      expect(podIp).toMatch(/^10\.244\.0\.\d+$/);

      // CoreDNS, through kube-proxy's Service rules, answers for the apiserver's Service.
      const resolver = new Resolver({ timeout: 3_000, tries: 3 });
      resolver.setServers([clusterNetwork.dnsServiceIp]);
      expect(await resolver.resolve4(`kubernetes.default.svc.${clusterNetwork.clusterDomain}`)).toEqual([
        clusterNetwork.apiserverServiceIp,
      ]);

      during = await hostStateSnapshot();
      // Not left in etcd for the next `up` to start again.
      await kubectlOrThrow(['delete', 'pod', 'lifecycle-probe', '--wait=false']);
    } finally {
      const down = await clusterDown(log);
      expect(down.leftovers).toEqual([]);
    }
    // While up, the snapshot saw the cluster (so an empty "after" means something).
    if (during === null) throw new Error('no snapshot was taken while the cluster was up');
    expect(during.interfaces).toContain(clusterNetwork.bridge);
    expect(during.netns.length).toBeGreaterThan(0);
    expect(during.mounts.length).toBeGreaterThan(0);
    expect(during.iptablesChains.some((c) => c.endsWith(' KUBE-SERVICES'))).toBe(true);
    expect(during.processes.some((p) => p.includes('kube-apiserver'))).toBe(true);

    expect(await hostStateSnapshot()).toEqual(before);
  });
});
