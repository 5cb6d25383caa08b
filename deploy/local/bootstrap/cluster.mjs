/**
 * The one-node Kubernetes cluster's binaries (deploy/cluster), built from the Go module proxy once per
 * machine into the per-user cache: a fresh clone on the same machine finds them and builds nothing.
 * `npm test` needs them for the in-cluster test; SIEM_CLUSTER=off skips both (a machine that cannot run
 * a cluster: no root, no containerd).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runStep, StepFailed, which } from './shell.mjs';

/** What `npm run cluster -- build` leaves in the cache's bin folder (deploy/cluster/src/paths.ts). */
export const CLUSTER_BINARIES = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'kubectl',
  'etcd',
  'coredns',
];

/** As deploy/cluster/src/paths.ts finds it. @param {string} root @param {string} stackCache */
export function clusterCacheDir(root, stackCache) {
  const own = process.env.SIEM_CLUSTER_CACHE_DIR;
  return own !== undefined && own !== '' ? resolve(root, own) : join(stackCache, 'cluster');
}

/** @type {import('./steps.mjs').Step} */
export const clusterBinaries = {
  name: 'cluster binaries',
  after: ['node_modules'],
  check(ctx) {
    if (ctx.profile !== 'test' || process.env.SIEM_CLUSTER === 'off') return null;
    const bin = join(clusterCacheDir(ctx.root, ctx.cacheDir), 'bin');
    const missing = CLUSTER_BINARIES.filter((b) => !existsSync(join(bin, b)));
    if (missing.length === 0) return null;
    const command = [
      process.execPath,
      '--conditions=source',
      '--import',
      'tsx',
      'deploy/cluster/src/main.ts',
      'build',
    ];
    return {
      detail: `not built in ${bin}: ${missing.join(' ')} (from the Go module proxy: ~20–25 min on 2 cores, once per machine)`,
      commands: [command],
      fix: async () => {
        if (which('go') === null) {
          throw new StepFailed(
            this.name,
            '',
            'Kubernetes, etcd and CoreDNS are built from their source with the Go toolchain: put go (1.26 or later) on PATH, or set SIEM_CLUSTER=off to skip the in-cluster test',
          );
        }
        await runStep(this.name, command, { cwd: ctx.root });
      },
    };
  },
};
