import { Resolver } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from '@siem/local-stack';
import { clusterNetwork, clusterPorts } from '../paths.js';
import { asList, corednsManifests, storageManifests } from './addons.js';
import { builtBinariesMissing } from './build.js';
import { type ComponentSpec, componentSpecs } from './components.js';
import { ClusterError } from './errors.js';
import { enableForwarding, recordHost } from './host-record.js';
import { kubectl, kubectlOrThrow } from './kubectl.js';
import { type ClusterLayout, clusterLayout } from './layout.js';
import { buildCorednsImage, buildPauseImage, clusterImages, importImage } from './local-images.js';
import {
  cniConflist,
  cniLoopback,
  containerdConfig,
  kubeconfig,
  kubeletConfig,
  kubeProxyConfig,
} from './node-config.js';
import { nodeIdentity } from './node-identity.js';
import { ensurePki, type NodeIdentity, pkiFiles } from './pki.js';
import { findCniBinDir, requirePrerequisites } from './prerequisites.js';
import { startComponent } from './processes.js';
import { type Log, Steps, type StepTiming, stdoutLog } from './steps.js';
import { recyclePersistentVolumes } from './storage.js';

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Writes only a changed file: kube-proxy exits when its configuration file is written to. */
function writeFile(file: string, text: string, mode = 0o644): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { mode });
}

/** Every configuration file the components read, written from the layout (pure renderers). */
function writeConfigs(layout: ClusterLayout, node: NodeIdentity, cniBinDir: string): void {
  const p = pkiFiles(layout.pkiDir);
  const ca = readFileSync(p.caCert);
  const server = `https://127.0.0.1:${clusterPorts.apiserver}`;
  const kc = (user: string, file: string) =>
    json(kubeconfig({ server, user, ca, cert: readFileSync(p.cert(file)), key: readFileSync(p.key(file)) }));
  writeFile(layout.adminKubeconfig, kc('admin', 'admin'), 0o600);
  const k = layout.componentKubeconfigs;
  writeFile(k.controllerManager, kc('system:kube-controller-manager', 'controller-manager'), 0o600);
  writeFile(k.scheduler, kc('system:kube-scheduler', 'scheduler'), 0o600);
  writeFile(k.kubelet, kc(`system:node:${node.name}`, 'kubelet'), 0o600);
  writeFile(k.kubeProxy, kc('system:kube-proxy', 'kube-proxy'), 0o600);
  writeFile(layout.containerd.config, containerdConfig(layout, cniBinDir));
  writeFile(join(layout.cni.confDir, '10-siem-local.conflist'), json(cniConflist(layout)));
  writeFile(join(layout.cni.confDir, '99-loopback.conf'), json(cniLoopback()));
  writeFile(
    layout.kubelet.config,
    json(kubeletConfig(layout, p.caCert, { cert: p.cert('kubelet-server'), key: p.key('kubelet-server') })),
  );
  writeFile(layout.kubeProxyConfig, json(kubeProxyConfig(layout, node)));
  for (const d of [layout.kubelet.rootDir, layout.kubelet.podLogsDir, layout.pvDir, layout.cni.dataDir]) {
    mkdirSync(d, { recursive: true });
  }
}

/** The node's Ready status, and when the kubelet last reported it (ms since the epoch; 0 if never). */
async function nodeReady(name: string): Promise<{ status: string; heartbeat: number }> {
  const ready = '.status.conditions[?(@.type=="Ready")]';
  const r = await kubectl([
    'get',
    'node',
    name,
    '-o',
    `jsonpath={${ready}.status} {${ready}.lastHeartbeatTime}`,
  ]);
  if (r.code !== 0) return { status: '', heartbeat: 0 };
  const [status = '', time = ''] = r.stdout.trim().split(' ');
  return { status, heartbeat: Date.parse(time) || 0 };
}

/**
 * Whether cluster DNS answers for the apiserver's Service, asked from the host through the DNS
 * Service IP: CoreDNS, kube-proxy's rules and the pod network all work (a Deployment status kept in
 * etcd from the last run could say Ready before any of them does).
 */
async function dnsAnswers(): Promise<boolean> {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([clusterNetwork.dnsServiceIp]);
  const ips = await resolver.resolve4(`kubernetes.default.svc.${clusterNetwork.clusterDomain}`);
  return ips.includes(clusterNetwork.apiserverServiceIp);
}

export interface UpResult {
  node: NodeIdentity;
  timings: StepTiming[];
  totalMs: number;
}

/**
 * `npm run cluster -- up`: starts the one-node cluster (processes detached, outliving the command)
 * and waits until the node and CoreDNS are Ready. What already runs is left alone, so `up` twice is
 * harmless. A failed `up` leaves what it started for `down` to remove (`down` removes it all).
 */
export async function clusterUp(log: Log = stdoutLog): Promise<UpResult> {
  const layout = clusterLayout();
  const steps = new Steps(log, 'SIEM_ERR_CLUSTER_START');
  const started = Date.now();
  let specs: ComponentSpec[] = [];
  const node = await steps.run(
    'check prerequisites',
    async () => {
      requirePrerequisites('check prerequisites', 'up');
      const node = await nodeIdentity();
      specs = componentSpecs(layout, node);
      const missing = builtBinariesMissing(specs.filter((s) => s.binary.includes('/')).map((s) => s.binary));
      if (missing.length > 0) {
        throw new ClusterError(
          'SIEM_ERR_CLUSTER_PREREQUISITE',
          'check prerequisites',
          `not built: ${missing.join(', ')}; run \`npm run cluster -- build\` first`,
        );
      }
      return node;
    },
    (n) => `node ${n.name} ${n.ip}`,
  );
  await steps.run('record the host, enable forwarding', async () => {
    mkdirSync(layout.stateDir, { recursive: true });
    recordHost(layout);
    enableForwarding();
  });
  await steps.run(
    'certificates (openssl)',
    () => ensurePki(layout.pkiDir, node),
    (made) => (made.length > 0 ? `made ${made.length}` : 'present'),
  );
  await steps.run('configuration files', async () => writeConfigs(layout, node, findCniBinDir()!));
  const spec = (name: string) => specs.find((s) => s.name === name)!;
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'containerd']) {
    await steps.run(
      `start ${name}`,
      () => startComponent(layout, spec(name)),
      (r) => r,
    );
  }
  await steps.run(
    'import the pause and CoreDNS images',
    async () => {
      await buildPauseImage();
      await buildCorednsImage();
      const a = await importImage(
        layout.containerd.socket,
        clusterImages.pause.name,
        clusterImages.pause.file,
      );
      const b = await importImage(
        layout.containerd.socket,
        clusterImages.coredns.name,
        clusterImages.coredns.file,
      );
      return a || b ? 'imported' : 'present';
    },
    (r) => r,
  );
  const kubeletStart = Date.now();
  const kubelet = await steps.run(
    'start kubelet',
    () => startComponent(layout, spec('kubelet')),
    (r) => r,
  );
  // A kubelet started now reports afresh; a Ready condition older than that was left in etcd by the
  // last run. (Heartbeat times have whole seconds.)
  const freshSince = kubelet === 'started' ? Math.floor(kubeletStart / 1000) * 1000 : 0;
  await steps.run('node registers', () =>
    waitFor('node registration', async () => (await nodeReady(node.name)).status !== '', 60_000, 500),
  );
  await steps.run(
    'start kube-proxy',
    () => startComponent(layout, spec('kube-proxy')),
    (r) => r,
  );
  await steps.run(
    'CoreDNS, StorageClass, PersistentVolumes',
    async () => {
      const manifests = asList([...corednsManifests(), ...storageManifests(layout.pvDir)]);
      await kubectlOrThrow(['apply', '-f', '-'], { input: json(manifests) });
      const recycled = await recyclePersistentVolumes(layout.pvDir);
      return recycled > 0 ? `recycled ${recycled} released PVs` : undefined;
    },
    (r) => r,
  );
  await steps.run('node Ready', () =>
    waitFor(
      'node Ready',
      async () => {
        const r = await nodeReady(node.name);
        return r.status === 'True' && r.heartbeat >= freshSince;
      },
      120_000,
      500,
    ),
  );
  await steps.run('CoreDNS Ready, DNS answers', async () => {
    await kubectlOrThrow(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=180s'], {
      timeoutMs: 200_000,
    });
    await waitFor('cluster DNS', dnsAnswers, 120_000, 1_000);
  });
  const totalMs = Date.now() - started;
  log(`cluster up in ${(totalMs / 1000).toFixed(1)} s`);
  return { node, timings: steps.timings, totalMs };
}
