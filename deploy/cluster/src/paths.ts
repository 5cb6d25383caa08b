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
/** Scratch Go modules the binaries are built from (one per upstream project). */
export const buildDir = join(clusterPaths.cacheDir, 'build');
/** OCI image tarballs built locally (pause, CoreDNS, base images). */
export const imagesDir = join(clusterPaths.cacheDir, 'images');
export const kubeconfigPath = join(clusterPaths.stateDir, 'kubeconfig');
/** The cluster's own containerd (CRI) socket: `ctr --address <it> -n k8s.io images import <tarball>`. */
export const containerdSocket = join(clusterPaths.stateDir, 'containerd', 'containerd.sock');
/** Pid files and logs of the cluster's processes. */
export const clusterLogsDir = join(clusterPaths.stateDir, 'logs');

/** Versions built from the Go module proxy (see ../shared facts in the README's Kubernetes section). */
export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.6.16';
export const COREDNS_VERSION = 'v1.15.0';
/** The sandbox image name containerd's CRI asks for; built from Kubernetes' own pause.c. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const COREDNS_IMAGE = `siem-local/coredns:${COREDNS_VERSION}`;

function envPort(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const port = Number.parseInt(v, 10);
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || String(port) !== v.trim()) {
    throw new Error(`${name}=${v} is not a TCP port`);
  }
  return port;
}

/**
 * The cluster's own ports, away from the defaults (6443, 2379, 10250…) a developer's other cluster
 * may hold; each can be moved by environment (`SIEM_CLUSTER_<NAME>_PORT`).
 */
export const clusterPorts = {
  apiserver: envPort('SIEM_CLUSTER_APISERVER_PORT', 16443),
  etcdClient: envPort('SIEM_CLUSTER_ETCD_PORT', 12379),
  etcdPeer: envPort('SIEM_CLUSTER_ETCD_PEER_PORT', 12380),
  controllerManager: envPort('SIEM_CLUSTER_CONTROLLER_MANAGER_PORT', 16257),
  scheduler: envPort('SIEM_CLUSTER_SCHEDULER_PORT', 16259),
  kubelet: envPort('SIEM_CLUSTER_KUBELET_PORT', 16250),
  kubeletHealthz: envPort('SIEM_CLUSTER_KUBELET_HEALTHZ_PORT', 16248),
  kubeProxyHealthz: envPort('SIEM_CLUSTER_KUBE_PROXY_HEALTHZ_PORT', 16256),
  kubeProxyMetrics: envPort('SIEM_CLUSTER_KUBE_PROXY_METRICS_PORT', 16249),
};

/** The cluster's networks: pods on the `cni0` bridge, Services, and the fixed addresses in them. */
export const clusterNetwork = {
  /** The CNI network's name (its host-local leases, its cached results). */
  cniNetworkName: 'siem-local',
  bridge: 'cni0',
  clusterCidr: '10.244.0.0/16',
  podCidr: '10.244.0.0/24',
  /** The bridge's own address: the apiserver advertises it, so pods reach it through the `kubernetes` Service. */
  bridgeAddress: '10.244.0.1',
  serviceCidr: '10.96.0.0/12',
  apiserverServiceIp: '10.96.0.1',
  dnsServiceIp: '10.96.0.10',
  clusterDomain: 'cluster.local',
};
