import { existsSync } from 'node:fs';
import { componentNames, componentSpecs } from './components.js';
import { kubectl } from './kubectl.js';
import { clusterLayout } from './layout.js';
import { nodeIdentity } from './node-identity.js';
import { componentPid, healthy } from './processes.js';

export interface ComponentStatus {
  name: string;
  pid: number | null;
  /** Answers its health check (readyz, healthz, socket). */
  healthy: boolean;
}

export interface ClusterStatus {
  components: ComponentStatus[];
  node: { name: string; ready: boolean; detail: string };
  corednsReady: boolean;
  kubeconfig: string;
  /** Every component healthy, the node Ready. */
  ready: boolean;
}

/** Each component's process and health, the node's readiness and CoreDNS's. */
export async function clusterStatus(): Promise<ClusterStatus> {
  const layout = clusterLayout();
  const node = await nodeIdentity();
  const specs = componentSpecs(layout, node);
  const components = await Promise.all(
    componentNames.map(async (name) => {
      const spec = specs.find((s) => s.name === name)!;
      const pid = componentPid(layout, spec);
      return { name, pid, healthy: pid !== null && (await healthy(spec.health)) };
    }),
  );
  const apiUp =
    components.find((c) => c.name === 'kube-apiserver')!.healthy && existsSync(layout.adminKubeconfig);
  let ready = false;
  let detail = 'apiserver down';
  let corednsReady = false;
  if (apiUp) {
    const r = await kubectl(
      [
        'get',
        'node',
        node.name,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}',
      ],
      { timeoutMs: 5_000 },
    );
    ready = r.code === 0 && r.stdout.startsWith('True');
    detail = r.code === 0 ? r.stdout.trim() : (r.stderr.trim().split('\n')[0] ?? 'not registered');
    const d = await kubectl(
      ['-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.status.readyReplicas}'],
      { timeoutMs: 5_000 },
    );
    corednsReady = d.code === 0 && Number(d.stdout.trim()) > 0;
  }
  return {
    components,
    node: { name: node.name, ready, detail },
    corednsReady,
    kubeconfig: layout.adminKubeconfig,
    ready: ready && corednsReady && components.every((c) => c.healthy),
  };
}

export function formatStatus(s: ClusterStatus): string {
  const lines = s.components.map((c) => {
    const state = c.pid === null ? 'stopped' : c.healthy ? 'running, healthy' : 'running, not answering';
    return `${c.name.padEnd(24)} ${state}${c.pid !== null ? ` (pid ${c.pid})` : ''}`;
  });
  lines.push(
    `${`node ${s.node.name}`.padEnd(24)} ${s.node.ready ? 'Ready' : `not Ready (${s.node.detail})`}`,
  );
  lines.push(`${'coredns'.padEnd(24)} ${s.corednsReady ? 'Ready' : 'not Ready'}`);
  lines.push(`kubeconfig: ${s.kubeconfig}`);
  return `${lines.join('\n')}\n`;
}
