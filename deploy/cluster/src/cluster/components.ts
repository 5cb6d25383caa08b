import { join } from 'node:path';
import { binDir, clusterNetwork, clusterPorts } from '../paths.js';
import type { ClusterLayout } from './layout.js';
import { type NodeIdentity, pkiFiles } from './pki.js';

/** How a component is asked whether it is up. */
export type HealthCheck =
  | { kind: 'http'; url: string }
  | { kind: 'https'; url: string; clientCert?: { cert: string; key: string; ca: string } }
  | { kind: 'socket'; path: string };

/** A process of the cluster: what runs, with which arguments, and how it shows it is ready. */
export interface ComponentSpec {
  name: ClusterComponentName;
  binary: string;
  args: string[];
  health: HealthCheck;
  startTimeoutMs: number;
  /** SIGTERM, then SIGKILL after this long. */
  stopGraceMs: number;
}

export const componentNames = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'containerd',
  'kubelet',
  'kube-proxy',
] as const;
export type ClusterComponentName = (typeof componentNames)[number];

/** The arguments of every component, in start order (`down` stops them in reverse). */
export function componentSpecs(layout: ClusterLayout, node: NodeIdentity): ComponentSpec[] {
  const p = pkiFiles(layout.pkiDir);
  const bin = (name: string) => join(binDir, name);
  const etcdUrl = `http://127.0.0.1:${clusterPorts.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${clusterPorts.etcdPeer}`;
  const adminTls = { cert: p.cert('admin'), key: p.key('admin'), ca: p.caCert };
  return [
    {
      name: 'etcd',
      binary: bin('etcd'),
      args: [
        '--name=siem-local',
        `--data-dir=${layout.etcdDataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=siem-local=${peerUrl}`,
        '--initial-cluster-state=new',
        '--log-level=warn',
      ],
      health: { kind: 'http', url: `${etcdUrl}/health` },
      startTimeoutMs: 60_000,
      stopGraceMs: 10_000,
    },
    {
      name: 'kube-apiserver',
      binary: bin('kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=0.0.0.0',
        `--secure-port=${clusterPorts.apiserver}`,
        `--advertise-address=${clusterNetwork.bridgeAddress}`,
        `--service-cluster-ip-range=${clusterNetwork.serviceCidr}`,
        '--service-node-port-range=30000-32767',
        `--client-ca-file=${p.caCert}`,
        `--tls-cert-file=${p.cert('apiserver')}`,
        `--tls-private-key-file=${p.key('apiserver')}`,
        `--kubelet-client-certificate=${p.cert('apiserver-kubelet-client')}`,
        `--kubelet-client-key=${p.key('apiserver-kubelet-client')}`,
        `--kubelet-certificate-authority=${p.caCert}`,
        '--kubelet-preferred-address-types=InternalIP,Hostname',
        `--service-account-key-file=${p.saPub}`,
        `--service-account-signing-key-file=${p.saKey}`,
        `--service-account-issuer=https://kubernetes.default.svc.${clusterNetwork.clusterDomain}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ],
      health: {
        kind: 'https',
        url: `https://127.0.0.1:${clusterPorts.apiserver}/readyz`,
        clientCert: adminTls,
      },
      startTimeoutMs: 120_000,
      // It can hang for half an hour in graceful shutdown once etcd is gone: short grace, then SIGKILL.
      stopGraceMs: 5_000,
    },
    {
      name: 'kube-controller-manager',
      binary: bin('kube-controller-manager'),
      args: [
        `--kubeconfig=${layout.componentKubeconfigs.controllerManager}`,
        `--authentication-kubeconfig=${layout.componentKubeconfigs.controllerManager}`,
        `--authorization-kubeconfig=${layout.componentKubeconfigs.controllerManager}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${clusterPorts.controllerManager}`,
        '--leader-elect=false',
        `--cluster-signing-cert-file=${p.caCert}`,
        `--cluster-signing-key-file=${p.caKey}`,
        `--root-ca-file=${p.caCert}`,
        `--service-account-private-key-file=${p.saKey}`,
        '--use-service-account-credentials=true',
        '--allocate-node-cidrs=true',
        `--cluster-cidr=${clusterNetwork.clusterCidr}`,
        '--node-cidr-mask-size=24',
        `--service-cluster-ip-range=${clusterNetwork.serviceCidr}`,
        '--controllers=*,bootstrapsigner,tokencleaner',
        '--profiling=false',
      ],
      health: { kind: 'https', url: `https://127.0.0.1:${clusterPorts.controllerManager}/healthz` },
      startTimeoutMs: 60_000,
      stopGraceMs: 5_000,
    },
    {
      name: 'kube-scheduler',
      binary: bin('kube-scheduler'),
      args: [
        `--kubeconfig=${layout.componentKubeconfigs.scheduler}`,
        `--authentication-kubeconfig=${layout.componentKubeconfigs.scheduler}`,
        `--authorization-kubeconfig=${layout.componentKubeconfigs.scheduler}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${clusterPorts.scheduler}`,
        '--leader-elect=false',
        '--profiling=false',
      ],
      health: { kind: 'https', url: `https://127.0.0.1:${clusterPorts.scheduler}/healthz` },
      startTimeoutMs: 60_000,
      stopGraceMs: 5_000,
    },
    {
      name: 'containerd',
      binary: 'containerd',
      args: ['--config', layout.containerd.config],
      health: { kind: 'socket', path: layout.containerd.socket },
      startTimeoutMs: 30_000,
      stopGraceMs: 10_000,
    },
    {
      name: 'kubelet',
      binary: bin('kubelet'),
      args: [
        `--config=${layout.kubelet.config}`,
        `--kubeconfig=${layout.componentKubeconfigs.kubelet}`,
        `--root-dir=${layout.kubelet.rootDir}`,
        `--cert-dir=${join(layout.kubelet.rootDir, 'pki')}`,
        `--hostname-override=${node.name}`,
        `--node-ip=${node.ip}`,
        '--v=1',
      ],
      health: { kind: 'http', url: `http://127.0.0.1:${clusterPorts.kubeletHealthz}/healthz` },
      startTimeoutMs: 60_000,
      stopGraceMs: 10_000,
    },
    {
      name: 'kube-proxy',
      binary: bin('kube-proxy'),
      args: [`--config=${layout.kubeProxyConfig}`],
      health: { kind: 'http', url: `http://127.0.0.1:${clusterPorts.kubeProxyHealthz}/healthz` },
      startTimeoutMs: 60_000,
      stopGraceMs: 5_000,
    },
  ];
}
