import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAgainst } from '@siem/config';
import { helmBinary } from '@siem/local-stack';
import {
  adapterInstances,
  hashApiKey,
  loadRootConfig,
  resolveAdapterEntries,
  rootConfigSchema,
} from '@siem/runtime';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chart = join(root, 'helm/siem-gateway');
const depsChart = join(root, 'helm/siem-deps');
const ciValues = readdirSync(join(chart, 'ci')).map((f) => join(chart, 'ci', f));
const clusterValues = join(chart, 'ci/cluster-values.yaml');
/** The Kubernetes version the chart is installed on (the project's cluster). */
const KUBE = '1.37.2';

function helmRun(args: string[]) {
  if (!existsSync(helmBinary))
    throw new Error(`helm is not built: run npm run stack -- fetch (${helmBinary})`);
  return spawnSync(helmBinary, args, { encoding: 'utf8' });
}

function helm(args: string[]) {
  const r = helmRun(args);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

type Container = {
  name: string;
  image: string;
  imagePullPolicy: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name: string; containerPort: number; protocol: string }>;
  resources?: { requests?: Record<string, string> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
};
type Probe = { httpGet?: { path: string; port: string | number }; tcpSocket?: { port: string | number } };
type PodSpec = { containers: Container[]; initContainers?: Container[] };
type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

function parseDocs(out: string): Doc[] {
  return parseAllDocuments(out)
    .map((d) => d.toJSON() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** helm template of the gateway chart; `-f FILE` entries pass through, anything else is a --set. */
function render(...sets: string[]): Doc[] {
  return renderChart(chart, 'siem', sets);
}

function renderChart(path: string, release: string, sets: string[]): Doc[] {
  const args = sets.flatMap((s) => (s.startsWith('-f ') ? ['-f', s.slice(3)] : ['--set', s]));
  return parseDocs(helm(['template', release, path, '--kube-version', KUBE, ...args]));
}

/** The pod spec of a workload, Job or Pod. */
function podSpec(d: Doc): PodSpec | null {
  if (d.kind === 'Pod') return d.spec as unknown as PodSpec;
  const template = (d.spec?.template as { spec?: PodSpec } | undefined)?.spec;
  return template ?? null;
}

const find = (docs: Doc[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (d === undefined) throw new Error(`no ${kind} ${name} among ${docs.map((x) => x.metadata.name)}`);
  return d;
};

describe('Helm chart', () => {
  it("renders each role's siem.yaml so that it validates against the configuration schema", () => {
    const maps = render().filter((d) => d.kind === 'ConfigMap');
    expect(maps.map((m) => m.metadata.name).sort()).toEqual([
      'siem-siem-gateway-gateway',
      'siem-siem-gateway-migrate',
      'siem-siem-gateway-normalizer',
    ]);
    for (const m of maps) {
      const config = parseAllDocuments(m.data!['siem.yaml']!)[0]!.toJSON();
      expect(checkAgainst(rootConfigSchema, config)).toEqual([]);
      expect(resolveAdapterEntries(config.adapters)).toEqual([]);
    }
  });

  it('maps syslog 514 onto the unprivileged 5514 and probes the health endpoints', () => {
    const docs = render();
    const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'siem-siem-gateway-gateway')!;
    const ports = (
      svc.spec!.ports as Array<{ name: string; port: number; targetPort: string; protocol: string }>
    ).map((p) => `${p.port}/${p.protocol}->${p.targetPort}`);
    expect(ports).toEqual(expect.arrayContaining(['514/UDP->syslog-udp', '514/TCP->syslog-tcp']));
    const container = podSpec(docs.find((d) => d.kind === 'StatefulSet')!)!.containers[0]!;
    expect(container.args).toEqual(['serve', '--role', 'gateway']);
    expect(
      (container.ports as Array<{ name: string; containerPort: number }>).find(
        (p) => p.name === 'syslog-udp',
      )!.containerPort,
    ).toBe(5514);
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/health/ready' } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/health/live' } });
  });

  it('turns gateway.adapters into adapters by id: siem.yaml, container ports and Service ports', () => {
    const docs = render(
      'gateway.adapters.fw_asa.type=syslog_tcp',
      'gateway.adapters.fw_asa.port=1514',
      'gateway.adapters.fw_asa.tenant=network',
      'gateway.adapters.dc.type=windows_events',
      'gateway.adapters.dc.port=5516',
      'gateway.adapters.dc.servicePort=5044',
      'gateway.adapters.dc.tenant=corp',
    );
    const map = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'siem-siem-gateway-gateway')!;
    const yaml = map.data!['siem.yaml']!;
    const dir = mkdtempSync(join(tmpdir(), 'siem-helm-'));
    writeFileSync(join(dir, 'siem.yaml'), yaml);
    const config = loadRootConfig({ file: join(dir, 'siem.yaml'), env: {} });
    const byId = Object.fromEntries(adapterInstances(config.adapters).map((a) => [a.id, a]));
    expect(byId.fw_asa).toMatchObject({
      type: 'syslog_tcp',
      form: 'id',
      options: { port: 1514, tenant: 'network' },
    });
    expect(byId.dc).toMatchObject({ type: 'windows_events', options: { port: 5516, tenant: 'corp' } });
    expect(byId.dc!.options).not.toHaveProperty('servicePort');
    expect(byId.syslog_udp).toMatchObject({ form: 'shorthand', options: { port: 5514 } });
    // Winlogbeat deletes what was ACKed: the chart ACKs only what is on disk
    expect(byId.windows_events).toMatchObject({ options: { ack: 'durable' } });
    const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'siem-siem-gateway-gateway')!;
    const ports = (svc.spec!.ports as Array<{ port: number; targetPort: string; protocol: string }>).map(
      (p) => `${p.port}/${p.protocol}->${p.targetPort}`,
    );
    expect(ports).toEqual(expect.arrayContaining(['1514/TCP->fw-asa', '5044/TCP->dc']));
    const container = podSpec(docs.find((d) => d.kind === 'StatefulSet')!)!.containers[0]!;
    expect(container.ports).toEqual(
      expect.arrayContaining([
        { name: 'fw-asa', containerPort: 1514, protocol: 'TCP' },
        { name: 'dc', containerPort: 5516, protocol: 'TCP' },
      ]),
    );
    expect(() =>
      render(
        'gateway.adapters.a_very_long_adapter_id.type=syslog_udp',
        'gateway.adapters.a_very_long_adapter_id.port=1',
      ),
    ).toThrow(/'a_very_long_adapter_id' does not match pattern '\^\[a-z0-9\]\[a-z0-9_-\]\{0,14\}\$'/);
  });

  it('switches to a DaemonSet and to KEDA lag scaling by values', () => {
    const kinds = render('gateway.kind=DaemonSet', 'normalizer.autoscaling.keda.enabled=true').map(
      (d) => d.kind,
    );
    expect(kinds).toContain('DaemonSet');
    expect(kinds).toContain('ScaledObject');
    expect(kinds).not.toContain('StatefulSet');
    const dir = mkdtempSync(join(tmpdir(), 'siem-helm-'));
    writeFileSync(join(dir, 'bad.yaml'), 'gateway:\n  kind: Deployment\n');
    expect(() =>
      helm(['template', 'siem', chart, '--kube-version', KUBE, '-f', join(dir, 'bad.yaml')]),
    ).toThrow(/gateway\/kind.*must be one of 'StatefulSet', 'DaemonSet'/);
  });
});

type SchemaNode = {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  propertyNames?: { enum?: string[] };
  oneOf?: SchemaNode[];
};

/** Paths of values.yaml keys the schema does not describe (free-form objects end the walk). */
function undescribed(value: unknown, node: SchemaNode, path: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const objectNode = node.oneOf?.find((n) => n.type === 'object') ?? node;
  return Object.entries(value).flatMap(([key, v]) => {
    const at = `${path}.${key}`;
    const named = objectNode.properties?.[key];
    if (named !== undefined) return undescribed(v, named, at);
    if (objectNode.propertyNames?.enum !== undefined)
      return objectNode.propertyNames.enum.includes(key) ? [] : [at];
    if (typeof objectNode.additionalProperties === 'object')
      return undescribed(v, objectNode.additionalProperties, at);
    return objectNode.additionalProperties === false || objectNode.properties !== undefined ? [at] : [];
  });
}

describe('Helm chart values schema', () => {
  const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as SchemaNode;

  it('passes helm lint --strict, both charts, with the default values and every ci/ values file', () => {
    for (const values of [[], ...ciValues.map((f) => ['-f', f])]) {
      expect(helm(['lint', chart, '--strict', '--kube-version', KUBE, ...values])).toMatch(
        /1 chart\(s\) linted, 0 chart\(s\) failed/,
      );
    }
    expect(helm(['lint', depsChart, '--strict', '--kube-version', KUBE])).toMatch(/0 chart\(s\) failed/);
    expect(ciValues).toContain(clusterValues);
  });

  it('describes every key of values.yaml, and siem.yaml sections are exactly those of the configuration', () => {
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    expect(undescribed(values, schema, '')).toEqual([]);
    // the walk does fail on an unknown key
    expect(undescribed({ gateway: { replica: 2 } }, schema, '')).toEqual(['.gateway.replica']);
    const sections = Object.keys((rootConfigSchema as unknown as SchemaNode).properties!).sort();
    for (const at of [schema.properties!.config!, schema.properties!.gateway!.properties!.config!]) {
      expect([...at.propertyNames!.enum!].sort()).toEqual(sections);
    }
  });

  it('refuses typos and wrong types before rendering anything', () => {
    const refused: Array<[string, RegExp]> = [
      ['gateway.replica=2', /additional properties 'replica' not allowed/],
      ['gateway.replicas=two', /\/gateway\/replicas.*want integer/],
      ['image.pullPolicy=Sometimes', /\/image\/pullPolicy.*must be one of/],
      ['image.tag=latest', /\/image\/tag/],
      ['config.kafak.brokers=x:9092', /invalid propertyName 'kafak'/],
      ['normalizer.autoscaling.hpa.enabled=yes', /\/normalizer\/autoscaling\/hpa\/enabled.*want boolean/],
      ['networkPolicy.kafka.ports[0]=kafka', /\/networkPolicy\/kafka\/ports\/0.*want integer/],
      ['gateway.adapters.fw.port=1514', /missing property 'type'/],
      ['tests.timeoutSeconds=1', /\/tests\/timeoutSeconds/],
    ];
    for (const [set, message] of refused) {
      const r = helmRun(['template', 'siem', chart, '--kube-version', KUBE, '--set', set]);
      expect(r.status, set).not.toBe(0);
      expect(r.stderr, set).toMatch(message);
    }
    // adapter ids take `-` as the configuration does (ADAPTER_ID_PATTERN), within a port name's 15 characters
    const hyphen = render('gateway.adapters.e2e-tcp.type=syslog_tcp', 'gateway.adapters.e2e-tcp.port=1514');
    expect(find(hyphen, 'Service', 'siem-siem-gateway-gateway').spec!.ports).toContainEqual(
      expect.objectContaining({ name: 'e2e-tcp', port: 1514 }),
    );
  });
});

describe('Helm chart objects on Kubernetes 1.37', () => {
  const everything = [
    'networkPolicy.enabled=true',
    'serviceMonitor.enabled=true',
    'prometheusRule.enabled=true',
    'grafanaDashboards.enabled=true',
    'gateway.autoscaling.enabled=true',
  ];

  it('uses only API versions a 1.37 API server serves (and the operators’ CRDs)', () => {
    const served = new Set([
      'v1',
      'apps/v1',
      'batch/v1',
      'policy/v1',
      'autoscaling/v2',
      'networking.k8s.io/v1',
      'monitoring.coreos.com/v1',
      'keda.sh/v1alpha1',
    ]);
    const docs = [
      ...render(...everything),
      ...render(...everything, 'normalizer.autoscaling.keda.enabled=true'),
      ...render(`-f ${clusterValues}`),
      ...renderChart(depsChart, 'siem-deps', []),
    ];
    expect(docs.filter((d) => !served.has(d.apiVersion)).map((d) => `${d.kind} ${d.apiVersion}`)).toEqual([]);
    const kinds = new Set(docs.map((d) => d.kind));
    for (const k of ['HorizontalPodAutoscaler', 'ScaledObject', 'PodDisruptionBudget', 'NetworkPolicy'])
      expect(kinds).toContain(k);
    expect(kinds).toContain('ServiceMonitor');
    expect(kinds).toContain('PrometheusRule');
  });

  it('probes /health/live and /health/ready on the API port and requests resources in every workload', () => {
    for (const sets of [[], [`-f ${clusterValues}`], ['gateway.kind=DaemonSet', 'config.api.port=9090']]) {
      const docs = render(...sets);
      const workloads = docs.filter((d) => ['StatefulSet', 'Deployment', 'DaemonSet'].includes(d.kind));
      expect(workloads.map((d) => d.kind).sort()).toHaveLength(2);
      for (const w of workloads) {
        const c = podSpec(w)!.containers[0]!;
        const api = c.ports!.find((p) => p.name === 'api')!;
        expect(api.containerPort).toBe(sets.includes('config.api.port=9090') ? 9090 : 8080);
        expect(c.startupProbe, w.metadata.name).toMatchObject({
          httpGet: { path: '/health/live', port: 'api' },
        });
        expect(c.livenessProbe, w.metadata.name).toMatchObject({
          httpGet: { path: '/health/live', port: 'api' },
        });
        expect(c.readinessProbe, w.metadata.name).toMatchObject({
          httpGet: { path: '/health/ready', port: 'api' },
        });
      }
      for (const d of docs) {
        const spec = podSpec(d);
        if (spec === null) continue;
        // hooks leave nothing behind once they succeeded (helm uninstall leaves only the PVCs)
        const hook = (d as { metadata: { annotations?: Record<string, string> } }).metadata.annotations;
        if (hook?.['helm.sh/hook'] !== undefined)
          expect(hook['helm.sh/hook-delete-policy'], d.metadata.name).toContain('hook-succeeded');
        // Service link variables of a Service named siem-… would read as SIEM_* settings and be refused
        expect((spec as { enableServiceLinks?: boolean }).enableServiceLinks, d.metadata.name).toBe(false);
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
          expect(c.resources?.requests?.cpu, `${d.metadata.name}/${c.name}`).toBeDefined();
          expect(c.resources?.requests?.memory, `${d.metadata.name}/${c.name}`).toBeDefined();
        }
      }
    }
    const deps = renderChart(depsChart, 'siem-deps', []).filter((d) => d.kind === 'StatefulSet');
    expect(deps.map((d) => d.metadata.name).sort()).toEqual(['siem-deps-kafka', 'siem-deps-timescaledb']);
    for (const d of deps) {
      const c = podSpec(d)!.containers[0]!;
      for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe])
        expect(probe?.tcpSocket).toBeDefined();
      expect(c.resources?.requests?.memory).toBeDefined();
    }
  });

  it('runs every pod on the one image and pull policy of the values, never latest', () => {
    const docs = render(`-f ${clusterValues}`, 'image.tag=ci-7', 'image.pullPolicy=Never');
    const containers = docs.flatMap((d) => {
      const spec = podSpec(d);
      return spec === null ? [] : [...spec.containers, ...(spec.initContainers ?? [])].map((c) => ({ d, c }));
    });
    // gateway (+ its volume-permissions init container), normalizer, migrations Job, test Pod
    expect(new Set(containers.map(({ d }) => d.kind))).toEqual(
      new Set(['StatefulSet', 'Deployment', 'Job', 'Pod']),
    );
    for (const { d, c } of containers) {
      expect(`${d.metadata.name}/${c.name}: ${c.image} ${c.imagePullPolicy}`).toBe(
        `${d.metadata.name}/${c.name}: siem-gateway:ci-7 Never`,
      );
    }
    const defaults = render().flatMap((d) => podSpec(d)?.containers ?? []);
    expect(new Set(defaults.map((c) => c.image))).toEqual(new Set(['siem-gateway:0.1.0']));
    for (const d of renderChart(depsChart, 'siem-deps', ['database.image.tag=ci-7'])) {
      for (const c of [...(podSpec(d)?.containers ?? []), ...(podSpec(d)?.initContainers ?? [])]) {
        expect(c.image).not.toMatch(/:latest$/);
        expect(['IfNotPresent', 'Never']).toContain(c.imagePullPolicy);
      }
    }
    expect(() => renderChart(depsChart, 'siem-deps', ['kafka.image.tag=latest'])).toThrow(
      /\/kafka\/image\/tag/,
    );
  });

  it('renders NetworkPolicies whose rules name ports the selected pods serve', () => {
    const docs = render(`-f ${clusterValues}`, 'networkPolicy.apiNamespaceSelectors[0].matchLabels.team=obs');
    const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
    expect(policies.map((p) => p.metadata.name).sort()).toEqual([
      'siem-siem-gateway-gateway',
      'siem-siem-gateway-normalizer',
    ]);
    type Rule = {
      ports: Array<{ port: string | number; protocol: string }>;
      from?: unknown[];
      to?: unknown[];
    };
    for (const p of policies) {
      const spec = p.spec as {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: Rule[];
        egress: Rule[];
      };
      expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const pod = docs.find(
        (d) =>
          ['StatefulSet', 'Deployment'].includes(d.kind) &&
          Object.entries(spec.podSelector.matchLabels).every(
            ([k, v]) =>
              (d.spec!.template as { metadata: { labels: Record<string, string> } }).metadata.labels[k] === v,
          ),
      )!;
      expect(pod, p.metadata.name).toBeDefined();
      const served = podSpec(pod)!.containers[0]!.ports!;
      for (const rule of spec.ingress) {
        for (const port of rule.ports) {
          const match = served.find((s) => s.name === port.port);
          expect(match?.protocol, `${p.metadata.name} ingress ${port.port}`).toBe(port.protocol);
        }
      }
      expect(spec.ingress[0]!.from).toEqual([
        { podSelector: {} },
        { namespaceSelector: { matchLabels: { team: 'obs' } } },
      ]);
      const egressPorts = spec.egress.flatMap((r) => r.ports.map((x) => `${x.port}/${x.protocol}`));
      const expected = ['9092/TCP', '53/TCP', '53/UDP'];
      if (p.metadata.name.endsWith('normalizer')) expected.push('5432/TCP');
      expect(egressPorts.sort()).toEqual(expected.sort());
      for (const r of spec.egress) for (const x of r.ports) expect(['TCP', 'UDP']).toContain(x.protocol);
    }
    expect(render().filter((d) => d.kind === 'NetworkPolicy')).toEqual([]);
  });
});

describe('Helm test hook', () => {
  function hookOf(docs: Doc[]) {
    const pod = docs.find((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test')!;
    expect(pod).toBeDefined();
    return { pod, container: podSpec(pod)!.containers[0]! };
  }

  it('sends to the gateway Service and reads back through the API Service with the API key', () => {
    const docs = render(`-f ${clusterValues}`);
    const { pod, container } = hookOf(docs);
    expect((pod.spec as { restartPolicy: string }).restartPolicy).toBe('Never');
    expect(container.command!.slice(0, 3)).toEqual(['node', '--input-type=module', '-e']);
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e]));
    const [gwHost, gwPort] = env.HOOK_GATEWAY!.value!.split(':');
    const gwService = find(docs, 'Service', gwHost!);
    expect(
      (gwService.spec!.ports as Array<{ port: number; protocol: string; targetPort: string }>).find(
        (p) => p.port === Number(gwPort) && p.protocol === 'TCP',
      )?.targetPort,
    ).toBe('syslog-tcp');
    const api = new URL(env.HOOK_API!.value!);
    const apiService = find(docs, 'Service', api.hostname);
    expect((apiService.spec!.selector as Record<string, string>)['app.kubernetes.io/component']).toBe(
      'normalizer',
    );
    expect((apiService.spec!.ports as Array<{ port: number }>)[0]!.port).toBe(Number(api.port));
    expect(env.HOOK_API_KEY!.valueFrom!.secretKeyRef).toEqual({ name: 'siem-api-keys', key: 'token' });
    const script = container.command![3]!;
    expect(script).toBe(readFileSync(join(chart, 'files/ingest-test.mjs'), 'utf8'));
    expect(script).toContain("'emit-sample'");
    expect(script).toContain('/api/v1/events?q=');
  });

  it('fails (exit code 1) when the event does not come back before the timeout', async () => {
    const { container } = hookOf(render());
    // A listener that takes the events and loses them stands in for a gateway that drops them: the real
    // gateway cannot be made to lose an event on demand. The API address refuses connections.
    const sink: Server = createServer((s) => s.resume());
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const apiPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const [, ...args] = container.command!;
      const child = spawn(process.execPath, args, {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          HOOK_GATEWAY: `127.0.0.1:${(sink.address() as { port: number }).port}`,
          HOOK_API: `http://127.0.0.1:${apiPort}`,
          HOOK_API_KEY: 'siem_not-a-key',
          HOOK_TIMEOUT_SECONDS: '4',
        },
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b));
      child.stderr.on('data', (b: Buffer) => (out += b));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(out).toMatch(/emit-sample: /);
      expect(out).toMatch(/sent helm-test-\S+ to 127\.0\.0\.1:/);
      expect(out).toMatch(
        /helm test FAILED: helm-test-\S+ did not come back through http:\/\/127\.0\.0\.1:\d+ within 4 s/,
      );
      expect(code).toBe(1);
    } finally {
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
  }, 30_000);
});

describe('siem-deps chart', () => {
  const secretText = (d: Doc, key: string) => Buffer.from(d.data![key]!, 'base64').toString('utf8');

  it('renders one KRaft broker advertised as <release>-kafka:9092 and the TimescaleDB engine server', () => {
    const docs = renderChart(depsChart, 'siem-deps', []);
    const kafka = podSpec(find(docs, 'StatefulSet', 'siem-deps-kafka'))!.containers[0]!;
    expect(kafka.image).toBe('siem-kafka:4.1.1');
    const env = Object.fromEntries(kafka.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://siem-deps-kafka:9092',
      KAFKA_CFG_AUTO_CREATE_TOPICS_ENABLE: 'false',
    });
    expect(env.KAFKA_CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // every variable is one the image's entrypoint reads (deploy/docker/kafka), or a KAFKA_CFG_ property
    const entrypoint = readFileSync(
      fileURLToPath(new URL('../../../deploy/docker/kafka/kafka-entrypoint.sh', import.meta.url)),
      'utf8',
    );
    for (const name of Object.keys(env)) {
      if (!name.startsWith('KAFKA_CFG_')) expect(entrypoint, name).toContain(`\${${name}`);
    }
    expect(find(docs, 'Service', 'siem-deps-kafka').spec).toMatchObject({ type: 'ClusterIP' });
    expect(find(docs, 'Service', 'siem-deps-kafka-headless').spec).toMatchObject({ clusterIP: 'None' });
    const db = find(docs, 'StatefulSet', 'siem-deps-timescaledb');
    expect(podSpec(db)!.containers[0]!.command).toEqual([
      'node',
      'libs/storage/dist/src/embedded/timescale-server.js',
      '/var/lib/timescaledb/data',
      '0.0.0.0',
      '5432',
    ]);
    expect(existsSync(join(root, 'libs/storage/src/embedded/timescale-server.ts'))).toBe(true);
    for (const name of ['siem-deps-kafka', 'siem-deps-timescaledb']) {
      expect((find(docs, 'StatefulSet', name).spec!.volumeClaimTemplates as unknown[]).length).toBe(1);
    }
    expect(
      renderChart(depsChart, 'siem-deps', ['kafka.env.KAFKA_NUM_PARTITIONS=3', 'kafka.args[0]=run'])
        .filter((d) => d.metadata.name === 'siem-deps-kafka' && d.kind === 'StatefulSet')
        .map((d) => podSpec(d)!.containers[0]!)
        .map((c) => [c.args, c.env!.find((e) => e.name === 'KAFKA_NUM_PARTITIONS')!.value]),
    ).toEqual([[['run'], '3']]);
  });

  it('creates the Secrets the gateway chart reads by default, which load as its configuration', () => {
    const docs = renderChart(depsChart, 'siem-deps', ['apiKeys.token=siem_test-token']);
    const password = secretText(find(docs, 'Secret', 'siem-deps-timescaledb'), 'password');
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    const ci = parse(readFileSync(clusterValues, 'utf8'));
    const dbRef = values.secrets.SIEM_STORAGE__DATABASE_URL as { secret: string; key: string };
    expect(secretText(find(docs, 'Secret', dbRef.secret), dbRef.key)).toBe(
      `postgres://postgres:${password}@siem-deps-timescaledb:5432/postgres`,
    );
    const keysRef = values.secrets.SIEM_API__KEYS as { secret: string; key: string };
    const keys = find(docs, 'Secret', keysRef.secret);
    expect(secretText(keys, ci.tests.apiKey.key)).toBe('siem_test-token');
    // the gateway loads keys.json from the environment exactly as the chart passes it
    const dir = mkdtempSync(join(tmpdir(), 'siem-helm-'));
    const map = find(render(`-f ${clusterValues}`), 'ConfigMap', 'siem-siem-gateway-normalizer');
    writeFileSync(join(dir, 'siem.yaml'), map.data!['siem.yaml']!);
    const config = loadRootConfig({
      file: join(dir, 'siem.yaml'),
      env: {
        SIEM_API__KEYS: secretText(keys, keysRef.key),
        SIEM_STORAGE__DATABASE_URL: secretText(find(docs, 'Secret', dbRef.secret), dbRef.key),
      },
    });
    expect(config.api.keys).toEqual([
      {
        id: 'siem-deps',
        hash: hashApiKey('siem_test-token'),
        scopes: ['read', 'tail', 'admin', 'ingest'],
        tenant: null,
      },
    ]);
    expect(config.api.host).toBe('0.0.0.0');
    const kafkaService = find(renderChart(depsChart, 'siem-deps', []), 'Service', 'siem-deps-kafka');
    const kafkaPort = (kafkaService.spec!.ports as Array<{ port: number }>)[0]!.port;
    expect(config.kafka.brokers).toBe(`siem-deps-kafka:${kafkaPort}`);
    expect(config.kafka.create_topics).toBe(true);
    expect(config.kafka.topics.raw.replication_factor).toBe(1);
    // a generated token has the shape of `siem api-key`'s
    const generated = renderChart(depsChart, 'siem-deps', []);
    expect(secretText(find(generated, 'Secret', 'siem-api-keys'), 'token')).toMatch(/^siem_[A-Za-z0-9]{43}$/);
  });

  it('gives the in-cluster test small, fixed workloads', () => {
    const docs = render(`-f ${clusterValues}`);
    const gw = find(docs, 'StatefulSet', 'siem-siem-gateway-gateway');
    expect(gw.spec!.replicas).toBe(2);
    expect(
      (gw.spec!.volumeClaimTemplates as Array<{ spec: { resources: { requests: { storage: string } } } }>)[0]!
        .spec.resources.requests.storage,
    ).toBe('1Gi');
    expect(find(docs, 'Deployment', 'siem-siem-gateway-normalizer').spec!.replicas).toBe(2);
    expect(docs.filter((d) => d.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    expect(find(docs, 'Service', 'siem-siem-gateway-gateway').spec!.type).toBe('ClusterIP');
    for (const name of ['siem-siem-gateway-gateway', 'siem-siem-gateway-normalizer']) {
      const map = find(docs, 'ConfigMap', name);
      const config = parseAllDocuments(map.data!['siem.yaml']!)[0]!.toJSON();
      expect(checkAgainst(rootConfigSchema, config)).toEqual([]);
    }
    // the migrations hook carries its own siem.yaml: pre-install hooks run before the release's ConfigMaps
    const migrate = find(docs, 'ConfigMap', 'siem-siem-gateway-migrate');
    expect(migrate.metadata.annotations!['helm.sh/hook-weight']).toBe('-1');
    expect(migrate.data!['siem.yaml']).toBe(
      find(docs, 'ConfigMap', 'siem-siem-gateway-normalizer').data!['siem.yaml'],
    );
  });
});

describe('Helm chart monitoring objects', () => {
  it('the ServiceMonitor selects the API Service of each role once (not the headless one)', () => {
    const docs = render('serviceMonitor.enabled=true', 'serviceMonitor.labels.release=monitoring');
    const monitor = docs.find((d) => d.kind === 'ServiceMonitor')!;
    expect(monitor.metadata.labels?.release).toBe('monitoring');
    const selector = (monitor.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
    const selected = docs.filter(
      (d) => d.kind === 'Service' && Object.entries(selector).every(([k, v]) => d.metadata.labels?.[k] === v),
    );
    expect(selected.map((d) => d.metadata.name).sort()).toEqual([
      'siem-siem-gateway-api',
      'siem-siem-gateway-gateway-api',
    ]);
    const endpoints = monitor.spec!.endpoints as Array<{ port: string; path: string }>;
    expect(endpoints).toEqual([expect.objectContaining({ port: 'api', path: '/metrics' })]);
    for (const s of selected)
      expect((s.spec!.ports as Array<{ name: string }>).map((p) => p.name)).toContain('api');
  });
});

describe('siem-deps values schema', () => {
  it('describes every key of its values.yaml and refuses typos', () => {
    const schema = JSON.parse(readFileSync(join(depsChart, 'values.schema.json'), 'utf8')) as SchemaNode;
    expect(undescribed(parse(readFileSync(join(depsChart, 'values.yaml'), 'utf8')), schema, '')).toEqual([]);
    for (const [set, message] of [
      ['kafka.imag.tag=1', /additional properties 'imag' not allowed/],
      ['database.password=a@b', /\/database\/password/],
      ['apiKeys.scopes[0]=write', /\/apiKeys\/scopes\/0/],
    ] as const) {
      const r = helmRun(['template', 'siem-deps', depsChart, '--kube-version', KUBE, '--set', set]);
      expect(r.status, set).not.toBe(0);
      expect(r.stderr, set).toMatch(message);
    }
  });
});
