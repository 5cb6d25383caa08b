/**
 * The whole pipeline on the project's own one-node Kubernetes cluster, as a cluster operator meets it:
 * the images built from the Dockerfiles, `helm install --wait` of the dependencies (siem-deps: one Kafka
 * broker in KRaft mode, the TimescaleDB engine server) and of the gateway chart, `helm test`, 50,000
 * events from client pods over syslog TCP and UDP through the gateway Service → Kafka → normalizer pods
 * → database, every one read back through the API Service; then under load a gateway pod deleted
 * (its StatefulSet brings it back on its own volume; nothing it acknowledged is lost), a normalizer pod
 * deleted (its partitions move; nothing lost, replays skipped and counted), `helm upgrade` with a changed
 * value (pods roll, the config checksum changes), `helm rollback`, `helm uninstall` (only the PVCs
 * stay). Last, `cluster down` leaves the host as it found it.
 *
 * Each step's time goes to the output and to .cluster/e2e-report.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  clusterDown,
  clusterLayout,
  clusterUp,
  hostStateSnapshot,
  recyclePersistentVolumes,
} from '../cluster/index.js';
import { buildImages, importImages } from '../images/index.js';
import { clusterPaths, containerdSocket } from '../paths.js';
import {
  emitSummary,
  helm,
  kubectl,
  kubectlJson,
  pods,
  pollUntil,
  serviceIp,
  sleep,
  startJob,
  waitJob,
} from './kube.js';

const NS = 'siem';
const RELEASE = 'siem-gateway';
const DEPS = 'siem-deps';
const charts = new URL('../../../../helm/', import.meta.url).pathname;

const steps: { step: string; seconds: number }[] = [];
async function timed<T>(step: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await f();
  } finally {
    const seconds = Math.round((performance.now() - t) / 100) / 10;
    steps.push({ step, seconds });
    process.stdout.write(`[cluster e2e] ${step}: ${seconds} s\n`);
  }
}

/** Adapters by id, one tenant each, so each phase's events are counted on their own. */
const ADAPTERS = {
  'e2e-tcp': { type: 'syslog_tcp', port: 1514, tenant: 'e2e-tcp' },
  'e2e-udp': { type: 'syslog_udp', port: 1514, tenant: 'e2e-udp' },
  'e2e-lj': { type: 'windows_events', port: 1515, tenant: 'e2e-lj', ack: 'durable' },
  'e2e-norm': { type: 'syslog_tcp', port: 1516, tenant: 'e2e-norm' },
  'e2e-upgrade': { type: 'syslog_tcp', port: 1517, tenant: 'e2e-upgrade' },
};

let image = '';
let apiBase = '';
let apiKey = '';
let before: Awaited<ReturnType<typeof hostStateSnapshot>> | null = null;
const startedAt = Date.now();
let down = false;

async function tenantTotal(tenant: string): Promise<number> {
  const from = new Date(startedAt - 86_400_000).toISOString();
  const to = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const url = `${apiBase}/api/v1/events/histogram?tenant=${tenant}&from=${from}&to=${to}&interval=1d`;
  const r = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { total: number }).total;
}

function emit(name: string, args: string[]) {
  return startJob({ namespace: NS, name, image, args: ['emit-sample', ...args, '--json'] });
}

const gatewaySvc = `${RELEASE}-gateway`;

describe('the chart on a real Kubernetes cluster', () => {
  beforeAll(async () => {
    before = await hostStateSnapshot();
    await timed('cluster up', () => clusterUp());
    const built = await timed('images (build when changed)', () =>
      buildImages({ log: (l) => process.stdout.write(`${l}\n`) }),
    );
    image = built.gateway;
    process.stdout.write(`[cluster e2e] image sizes: ${JSON.stringify(built.sizes)}\n`);
    await timed('images imported into containerd', () =>
      importImages(containerdSocket, [built.gateway, built.kafka]),
    );
    await timed('namespace of an earlier run removed', () => freshNamespace());
    const [repo, tag] = image.split(':') as [string, string];
    await timed('helm install siem-deps --wait', () =>
      helm([
        'install',
        DEPS,
        join(charts, 'siem-deps'),
        '-n',
        NS,
        '--wait',
        '--timeout',
        '15m',
        '--set',
        `database.image.repository=${repo}`,
        '--set',
        `database.image.tag=${tag}`,
      ]),
    );
    const values = join(clusterPaths.stateDir, 'e2e-values.yaml');
    mkdirSync(clusterPaths.stateDir, { recursive: true });
    writeFileSync(values, stringify({ gateway: { adapters: ADAPTERS } }));
    await timed('helm install siem-gateway --wait', () =>
      helm([
        'install',
        RELEASE,
        join(charts, 'siem-gateway'),
        '-n',
        NS,
        '--wait',
        '--timeout',
        '15m',
        '-f',
        join(charts, 'siem-gateway', 'ci', 'cluster-values.yaml'),
        '-f',
        values,
        '--set',
        `image.repository=${repo}`,
        '--set',
        `image.tag=${tag}`,
      ]),
    );
    apiBase = `http://${await serviceIp(NS, `${RELEASE}-api`)}:8080`;
    apiKey = (
      await kubectl(['get', 'secret', '-n', NS, 'siem-api-keys', '-o', 'jsonpath={.data.token}'])
    ).trim();
    apiKey = Buffer.from(apiKey, 'base64').toString();
  });

  afterAll(async () => {
    // a failed step leaves the cluster up: take it down all the same (nothing outlives the test)
    if (!down) await clusterDown().catch((e: Error) => process.stderr.write(`cluster down: ${e.message}\n`));
    mkdirSync(clusterPaths.stateDir, { recursive: true });
    writeFileSync(join(clusterPaths.stateDir, 'e2e-report.json'), `${JSON.stringify({ steps }, null, 2)}\n`);
    process.stdout.write(
      `[cluster e2e] steps:\n${steps.map((s) => `  ${s.step}: ${s.seconds} s`).join('\n')}\n`,
    );
  });

  it('passes helm test: a syslog event through the Service, read back through the API', async () => {
    const out = await timed('helm test', () => helm(['test', RELEASE, '-n', NS, '--timeout', '5m']));
    expect(out).toMatch(/Phase:\s+Succeeded/);
  });

  it('stores every one of 50,000 events sent from client pods over syslog TCP and UDP', async () => {
    await timed('50,000 events sent and read back', async () => {
      await emit('send-tcp', [
        '25000',
        '--protocol',
        'tcp',
        '--to',
        `${gatewaySvc}:1514`,
        '--seed',
        '1',
        '--rate',
        '2000/s',
      ]);
      await emit('send-udp', [
        '25000',
        '--protocol',
        'udp',
        '--to',
        `${gatewaySvc}:1514`,
        '--seed',
        '2',
        '--rate',
        '1000/s',
      ]);
      const tcp = emitSummary((await waitJob(NS, 'send-tcp', 300_000)).logs);
      const udp = emitSummary((await waitJob(NS, 'send-udp', 300_000)).logs);
      expect([tcp.sent, tcp.error, udp.sent, udp.error]).toEqual([25_000, null, 25_000, null]);
      const stored = await pollUntil(
        async () => [await tenantTotal('e2e-tcp'), await tenantTotal('e2e-udp')],
        ([t, u]) => t === 25_000 && u === 25_000,
        300_000,
      );
      expect(stored).toEqual([25_000, 25_000]);
    });
  });

  it('loses nothing a gateway acknowledged when its pod is deleted under load; the pod comes back on its volume', async () => {
    await timed('gateway pod deleted under load', async () => {
      const [first] = await pods(NS, 'app.kubernetes.io/component=gateway');
      expect(first?.name).toBe(`${RELEASE}-gateway-0`);
      const target = `${RELEASE}-gateway-0.${RELEASE}-gateway-headless:1515`;
      await emit('send-lj', [
        '20000',
        '--protocol',
        'lumberjack',
        '--to',
        target,
        '--seed',
        '3',
        '--rate',
        '1000/s',
      ]);
      await sleep(6000);
      await kubectl(['delete', 'pod', '-n', NS, first!.name, '--wait=false']);
      const end = emitSummary((await waitJob(NS, 'send-lj', 300_000)).logs);
      const acked = end.acknowledged ?? 0;
      expect(acked).toBeGreaterThan(0);
      const back = await pollUntil(
        () => pods(NS, 'app.kubernetes.io/component=gateway'),
        (ps) => ps.some((p) => p.name === first!.name && p.uid !== first!.uid && p.ready),
        300_000,
      );
      const again = back.find((p) => p.name === first!.name)!;
      expect(again.uid).not.toBe(first!.uid);
      expect(again.claims).toEqual(first!.claims);
      const stored = await pollUntil(
        () => tenantTotal('e2e-lj'),
        (n) => n >= acked,
        300_000,
      );
      process.stdout.write(
        `[cluster e2e] lumberjack: sent ${end.sent}, acknowledged ${acked}, stored ${stored}\n`,
      );
      expect(stored).toBeGreaterThanOrEqual(acked);
      expect(stored).toBeLessThanOrEqual(end.sent);
    });
  });

  it('loses nothing when a normalizer pod is deleted under load; replays are skipped and counted', async () => {
    await timed('normalizer pod deleted under load', async () => {
      const [victim] = await pods(NS, 'app.kubernetes.io/component=normalizer');
      await emit('send-norm', [
        '20000',
        '--protocol',
        'tcp',
        '--to',
        `${gatewaySvc}:1516`,
        '--seed',
        '4',
        '--rate',
        '2000/s',
      ]);
      await sleep(4000);
      await kubectl(['delete', 'pod', '-n', NS, victim!.name, '--wait=false']);
      const end = emitSummary((await waitJob(NS, 'send-norm', 300_000)).logs);
      expect([end.sent, end.error]).toEqual([20_000, null]);
      const stored = await pollUntil(
        () => tenantTotal('e2e-norm'),
        (n) => n === 20_000,
        300_000,
      );
      expect(stored).toBe(20_000);
      const duplicates = await storageDuplicates();
      process.stdout.write(
        `[cluster e2e] normalizer kill: stored ${stored}, replays skipped ${duplicates}\n`,
      );
    });
  });

  it('rolls the pods on helm upgrade with a changed value (config checksum) and back on helm rollback', async () => {
    await timed('helm upgrade and rollback', async () => {
      const revision1 = await checksums();
      await helm([
        'upgrade',
        RELEASE,
        join(charts, 'siem-gateway'),
        '-n',
        NS,
        '--reuse-values',
        '--wait',
        '--timeout',
        '10m',
        '--set',
        'config.log.level=debug',
      ]);
      const revision2 = await checksums();
      expect(revision2.checksum).not.toBe(revision1.checksum);
      expect(revision2.uids.some((u) => revision1.uids.includes(u))).toBe(false);
      await emit('send-upgrade', ['1000', '--protocol', 'tcp', '--to', `${gatewaySvc}:1517`, '--seed', '5']);
      expect(emitSummary((await waitJob(NS, 'send-upgrade', 120_000)).logs).sent).toBe(1000);
      expect(
        await pollUntil(
          () => tenantTotal('e2e-upgrade'),
          (n) => n === 1000,
          180_000,
        ),
      ).toBe(1000);
      await helm(['rollback', RELEASE, '1', '-n', NS, '--wait', '--timeout', '10m']);
      const revision3 = await checksums();
      expect(revision3.checksum).toBe(revision1.checksum);
      const history = await helm(['history', RELEASE, '-n', NS, '-o', 'json']);
      expect((JSON.parse(history) as { revision: number }[]).map((h) => h.revision)).toEqual([1, 2, 3]);
    });
  });

  it('leaves only the PVCs behind on helm uninstall', async () => {
    await timed('helm uninstall', async () => {
      await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '5m']);
      await helm(['uninstall', DEPS, '-n', NS, '--wait', '--timeout', '5m']);
      const left = await pollUntil(
        () => leftovers(),
        (l) => l.every((k) => k.startsWith('persistentvolumeclaim/')),
        180_000,
      );
      expect(left.filter((k) => !k.startsWith('persistentvolumeclaim/'))).toEqual([]);
      expect(left.length).toBeGreaterThan(0);
      await freshNamespace(); // the PVCs too: the next run starts on empty volumes
    });
  });

  it('cluster down leaves no process, mount, netns, bridge or iptables chain behind', async () => {
    await timed('cluster down', () => clusterDown());
    down = true;
    const after = await hostStateSnapshot();
    expect(after).toEqual(before);
  });
});

/** Deletes the test's namespace (and so its PVCs), empties the volumes they held, creates it again. */
async function freshNamespace(): Promise<void> {
  await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait', '--timeout=300s']);
  // a PV turns Released a moment after its claim is gone; then it is emptied and freed
  const held = async () => {
    await recyclePersistentVolumes(clusterLayout().pvDir);
    const pvs = await kubectlJson<{ items: { spec: { claimRef?: { namespace?: string } } }[] }>([
      'get',
      'pv',
    ]);
    return pvs.items.filter((pv) => pv.spec.claimRef?.namespace === NS).length;
  };
  const left = await pollUntil(held, (n) => n === 0, 120_000, 2000);
  if (left !== 0) throw new Error(`${left} volume(s) still held by claims of namespace ${NS}`);
  await kubectl(['create', 'namespace', NS]);
}

/** The config checksum of the gateway pods' template and the pods' uids, once the rollout is done. */
async function checksums(): Promise<{ checksum: string; uids: string[] }> {
  const sts = await kubectlJson<{
    spec: { template: { metadata: { annotations: Record<string, string> } } };
  }>(['get', 'statefulset', '-n', NS, `${RELEASE}-gateway`]);
  const checksum = sts.spec.template.metadata.annotations['checksum/config'] ?? '';
  const ps = await pollUntil(
    () => pods(NS, 'app.kubernetes.io/component=gateway'),
    (list) => list.length > 0 && list.every((p) => p.ready && p.annotations['checksum/config'] === checksum),
    600_000,
  );
  return { checksum, uids: ps.map((p) => p.uid) };
}

/** Replays the storage writers skipped, summed over the normalizer pods (their /metrics). */
async function storageDuplicates(): Promise<number> {
  let total = 0;
  for (const p of await pods(NS, 'app.kubernetes.io/component=normalizer')) {
    const text = await (await fetch(`http://${p.ip}:8080/metrics`)).text();
    for (const m of text.matchAll(/^siem_storage_rows_duplicate_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/gm)) {
      total += Number(m[1]);
    }
  }
  return total;
}

/** Every namespaced object of the test's namespace a chart could have made, as kind/name. */
async function leftovers(): Promise<string[]> {
  const kinds = [
    'all',
    'configmaps',
    'secrets',
    'persistentvolumeclaims',
    'serviceaccounts',
    'networkpolicies',
    'poddisruptionbudgets',
    'horizontalpodautoscalers',
    'roles',
    'rolebindings',
  ];
  const out = await kubectl(['get', kinds.join(','), '-n', NS, '-o', 'name']);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .filter((l) => l !== 'configmap/kube-root-ca.crt' && l !== 'serviceaccount/default')
    .filter((l) => !l.startsWith('job.batch/') && !l.startsWith('pod/send-'));
}
