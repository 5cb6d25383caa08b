import { clusterNetwork, clusterPorts, PAUSE_IMAGE } from '../paths.js';
import type { ClusterLayout } from './layout.js';
import type { NodeIdentity } from './pki.js';

const toml = (s: string) => JSON.stringify(s);

/**
 * containerd's own configuration: its root, state and socket under the state folder (never the
 * system's /var/lib/containerd or /run/containerd/containerd.sock), the CRI plugin with the pause
 * image built here, runc with cgroupfs, CNI config and binaries, and `restrict_oom_score_adj` (this
 * VM lacks CAP_SYS_RESOURCE: without it every sandbox fails in runc's nsexec).
 */
export function containerdConfig(layout: ClusterLayout, cniBinDir: string): string {
  const c = layout.containerd;
  return `version = 2
root = ${toml(c.root)}
state = ${toml(c.state)}
oom_score = 0

[grpc]
  address = ${toml(c.socket)}

[ttrpc]
  address = ${toml(`${c.socket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${toml(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${toml(c.runcRoot)}

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${toml(cniBinDir)}
    conf_dir = ${toml(layout.cni.confDir)}
    max_conf_num = 1
`;
}

/** The pod network: the `cni0` bridge with the node's pod range, leases kept under the state folder. */
export function cniConflist(layout: ClusterLayout): Record<string, unknown> {
  const n = clusterNetwork;
  return {
    cniVersion: '1.0.0',
    name: n.cniNetworkName,
    plugins: [
      {
        type: 'bridge',
        bridge: n.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: layout.cni.dataDir,
          ranges: [[{ subnet: n.podCidr, gateway: n.bridgeAddress }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** The loopback network every pod gets besides the bridge. */
export function cniLoopback(): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'lo', type: 'loopback' };
}

/**
 * The kubelet's configuration. cgroup v1 allowed (`failCgroupV1: false`: this host is v1), cgroupfs,
 * webhook authentication and authorization, swap tolerated, and image GC and eviction thresholds
 * relaxed: images are imported, never pulled, so one collected is gone for good, and a developer disk
 * at 70 % must not evict the pods under test.
 */
export function kubeletConfig(layout: ClusterLayout, caFile: string, tls: { cert: string; key: string }) {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${layout.containerd.socket}`,
    address: '0.0.0.0',
    port: clusterPorts.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: clusterPorts.kubeletHealthz,
    tlsCertFile: tls.cert,
    tlsPrivateKeyFile: tls.key,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: caFile },
    },
    authorization: { mode: 'Webhook' },
    clusterDNS: [clusterNetwork.dnsServiceIp],
    clusterDomain: clusterNetwork.clusterDomain,
    podCIDR: clusterNetwork.podCidr,
    failSwapOn: false,
    podLogsDir: layout.kubelet.podLogsDir,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    imageMinimumGCAge: '87600h',
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'nodefs.inodesFree': '1%',
      'imagefs.available': '1%',
    },
    evictionPressureTransitionPeriod: '30s',
    maxPods: 110,
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    resolvConf: '/etc/resolv.conf',
    runtimeRequestTimeout: '5m',
    shutdownGracePeriod: '0s',
    localStorageCapacityIsolation: true,
  };
}

/** kube-proxy: iptables mode; `masqueradeAll` makes ClusterIP Services work on a single node. */
export function kubeProxyConfig(layout: ClusterLayout, node: NodeIdentity) {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: layout.componentKubeconfigs.kubeProxy },
    hostnameOverride: node.name,
    clusterCIDR: clusterNetwork.clusterCidr,
    bindAddress: '0.0.0.0',
    healthzBindAddress: `127.0.0.1:${clusterPorts.kubeProxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${clusterPorts.kubeProxyMetrics}`,
    nodePortAddresses: ['primary'],
    iptables: { masqueradeAll: true, syncPeriod: '10s', minSyncPeriod: '1s' },
    // Leave the host's conntrack sysctls alone: the VM may refuse them, and they are not ours to change.
    conntrack: { maxPerCore: 0, min: 0 },
  };
}

/** A kubeconfig with its certificates embedded (it can be copied elsewhere and still works). */
export function kubeconfig(opts: { server: string; user: string; ca: Buffer; cert: Buffer; key: Buffer }) {
  const b64 = (b: Buffer) => b.toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'siem-local', cluster: { server: opts.server, 'certificate-authority-data': b64(opts.ca) } },
    ],
    users: [
      {
        name: opts.user,
        user: { 'client-certificate-data': b64(opts.cert), 'client-key-data': b64(opts.key) },
      },
    ],
    contexts: [{ name: 'siem-local', context: { cluster: 'siem-local', user: opts.user } }],
    'current-context': 'siem-local',
  };
}
