import { join, resolve } from 'node:path';
import { repoRoot, stackPaths } from '@siem/local-stack';

/**
 * Where the local Kubernetes cluster keeps what it builds and what it runs.
 *
 * - `cacheDir`: binaries built from the Go module proxy, the pause and base images, image tarballs.
 *   Per user, outside the checkout (beside the stack's cache), so a fresh clone on the same machine
 *   builds nothing again. `SIEM_CLUSTER_CACHE_DIR` moves it.
 * - `stateDir`: the running cluster's data (etcd, certificates, kubeconfig, containerd, kubelet, logs,
 *   pid files), inside the checkout and ignored by git. `SIEM_CLUSTER_DIR` moves it.
 */
export const clusterPaths = {
  cacheDir: resolve(process.env.SIEM_CLUSTER_CACHE_DIR || join(stackPaths.cacheDir, 'cluster')),
  stateDir: resolve(repoRoot, process.env.SIEM_CLUSTER_DIR || '.cluster'),
};

export const binDir = join(clusterPaths.cacheDir, 'bin');
export const kubeconfigPath = join(clusterPaths.stateDir, 'kubeconfig');

/** Versions built from the Go module proxy (see ../shared facts in the README's Kubernetes section). */
export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.6.16';
export const COREDNS_VERSION = 'v1.15.0';
