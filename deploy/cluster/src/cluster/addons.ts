import { join } from 'node:path';
import { COREDNS_IMAGE, clusterNetwork } from '../paths.js';

export const STORAGE_CLASS = 'local-hostpath';
export const PV_COUNT = 12;
export const PV_SIZE = '20Gi';
/** Label on the PersistentVolumes made here, so they can be found (and recycled) again. */
export const PV_LABEL = 'siem.local/cluster-pv';

const DNS_READY_PORT = 8181;
/** Not 8080: the project keeps that port free, even inside pods. */
const DNS_HEALTH_PORT = 8180;

export function corefile(): string {
  const d = clusterNetwork.clusterDomain;
  return `.:53 {
    errors
    health :${DNS_HEALTH_PORT} {
        lameduck 5s
    }
    ready :${DNS_READY_PORT}
    kubernetes ${d} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf {
        max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
}

/** CoreDNS (RBAC, Corefile, Deployment) behind the Service the kubelet names as cluster DNS. */
export function corednsManifests(): Record<string, unknown>[] {
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        {
          apiGroups: [''],
          resources: ['endpoints', 'services', 'pods', 'namespaces'],
          verbs: ['list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: ns },
      data: { Corefile: corefile() },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            priorityClassName: 'system-cluster-critical',
            dnsPolicy: 'Default',
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
            containers: [
              {
                name: 'coredns',
                image: COREDNS_IMAGE,
                imagePullPolicy: 'Never',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                ],
                resources: { requests: { cpu: '50m', memory: '70Mi' }, limits: { memory: '170Mi' } },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
                readinessProbe: { httpGet: { path: '/ready', port: DNS_READY_PORT }, periodSeconds: 2 },
                livenessProbe: {
                  httpGet: { path: '/health', port: DNS_HEALTH_PORT },
                  initialDelaySeconds: 30,
                  failureThreshold: 5,
                },
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: ns, labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        selector: labels,
        clusterIP: clusterNetwork.dnsServiceIp,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      },
    },
  ];
}

/**
 * The default StorageClass and static hostPath PersistentVolumes under the state folder: enough for a
 * few StatefulSets' claims. No provisioner runs; PVs released by a deleted claim are made available
 * again by `recyclePersistentVolumes`.
 */
export function storageManifests(pvDir: string): Record<string, unknown>[] {
  const pvs = Array.from({ length: PV_COUNT }, (_, i) => {
    const name = `siem-local-pv-${String(i + 1).padStart(2, '0')}`;
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, labels: { [PV_LABEL]: 'true' } },
      spec: {
        capacity: { storage: PV_SIZE },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: STORAGE_CLASS,
        volumeMode: 'Filesystem',
        hostPath: { path: join(pvDir, name), type: 'DirectoryOrCreate' },
      },
    };
  });
  return [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: STORAGE_CLASS,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'kubernetes.io/no-provisioner',
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'Immediate',
    },
    ...pvs,
  ];
}

/** Several objects as one `kubectl apply -f` document. */
export function asList(items: Record<string, unknown>[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', items };
}
