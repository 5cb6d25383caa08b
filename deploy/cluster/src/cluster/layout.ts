import { join } from 'node:path';
import { clusterLogsDir, clusterPaths, containerdSocket, kubeconfigPath } from '../paths.js';

/** Every file and folder of a running cluster, all under its state folder. */
export interface ClusterLayout {
  stateDir: string;
  pkiDir: string;
  etcdDataDir: string;
  logsDir: string;
  /** kubeconfig of the cluster admin (what `kubectl`, helm and tests use). */
  adminKubeconfig: string;
  componentKubeconfigs: Record<'controllerManager' | 'scheduler' | 'kubelet' | 'kubeProxy', string>;
  containerd: { dir: string; config: string; root: string; state: string; socket: string; runcRoot: string };
  cni: { confDir: string; dataDir: string };
  kubelet: { rootDir: string; config: string; podLogsDir: string };
  kubeProxyConfig: string;
  manifestsDir: string;
  /** hostPath PersistentVolumes live here. */
  pvDir: string;
  /** What the host had before `up` (so `down` removes only what `up` created). */
  hostRecord: string;
}

export function clusterLayout(stateDir = clusterPaths.stateDir): ClusterLayout {
  const containerdDir = join(stateDir, 'containerd');
  const isDefault = stateDir === clusterPaths.stateDir;
  return {
    stateDir,
    pkiDir: join(stateDir, 'pki'),
    etcdDataDir: join(stateDir, 'etcd'),
    logsDir: isDefault ? clusterLogsDir : join(stateDir, 'logs'),
    adminKubeconfig: isDefault ? kubeconfigPath : join(stateDir, 'kubeconfig'),
    componentKubeconfigs: {
      controllerManager: join(stateDir, 'kubeconfigs', 'controller-manager.kubeconfig'),
      scheduler: join(stateDir, 'kubeconfigs', 'scheduler.kubeconfig'),
      kubelet: join(stateDir, 'kubeconfigs', 'kubelet.kubeconfig'),
      kubeProxy: join(stateDir, 'kubeconfigs', 'kube-proxy.kubeconfig'),
    },
    containerd: {
      dir: containerdDir,
      config: join(containerdDir, 'config.toml'),
      root: join(containerdDir, 'root'),
      state: join(containerdDir, 'state'),
      socket: isDefault ? containerdSocket : join(containerdDir, 'containerd.sock'),
      runcRoot: join(containerdDir, 'runc'),
    },
    cni: { confDir: join(stateDir, 'cni', 'net.d'), dataDir: join(stateDir, 'cni', 'networks') },
    kubelet: {
      rootDir: join(stateDir, 'kubelet'),
      config: join(stateDir, 'kubelet-config.json'),
      podLogsDir: join(stateDir, 'pod-logs'),
    },
    kubeProxyConfig: join(stateDir, 'kube-proxy-config.json'),
    manifestsDir: join(stateDir, 'manifests'),
    pvDir: join(stateDir, 'pv'),
    hostRecord: join(stateDir, 'host-record.json'),
  };
}
