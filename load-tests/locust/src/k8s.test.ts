import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const dir = resolve(import.meta.dirname, '..');

interface Item {
  key: string;
  path: string;
}
// biome-ignore lint/suspicious/noExplicitAny: Kubernetes manifests read as plain data
type Doc = any;

function podSpec(doc: Doc): Doc {
  return doc.spec.template.spec;
}

function flagValue(args: string[], flag: string): string | undefined {
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/** Every Python file the locustfile needs, as the ConfigMap must carry it. */
function pythonFiles(): string[] {
  return [
    'locustfile.py',
    ...readdirSync(join(dir, 'siemload'))
      .filter((f) => f.endsWith('.py'))
      .map((f) => `siemload/${f}`),
  ].sort();
}

function checkManifests(docs: Doc[], configMapKeys: string[]): void {
  const master = docs.find((d) => d.kind === 'Job' && d.metadata.name === 'siem-locust-master');
  const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'siem-locust-worker');
  const service = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'siem-locust-master');
  expect(master && worker && service).toBeTruthy();
  const files = pythonFiles();
  for (const pod of [podSpec(master), podSpec(worker)]) {
    const items = pod.volumes.find((v: Doc) => v.name === 'locustfiles').configMap.items as Item[];
    expect(items.map((i) => i.path).sort()).toEqual(files);
    for (const i of items) expect(configMapKeys).toContain(i.key);
  }
  const masterArgs = podSpec(master).containers[0].args as string[];
  expect(Number(flagValue(masterArgs, '--expect-workers'))).toBe(worker.spec.replicas);
  // the user classes the master names exist in the locustfile
  const locustfile = readFileSync(join(dir, 'locustfile.py'), 'utf8');
  for (const a of masterArgs.filter((x) => /^[A-Z][A-Za-z]+User$/.test(x))) expect(locustfile).toContain(a);
  // workers find the master through its Service, and the payloads the master names exist there
  const workerArgs = podSpec(worker).containers[0].args as string[];
  expect(flagValue(workerArgs, '--master-host')).toBe(service.metadata.name);
  const payloads = flagValue(masterArgs, '--siem-payloads') ?? '';
  const mounted = podSpec(worker).containers[0].volumeMounts.find(
    (m: Doc) => m.name === 'payloads',
  ).mountPath;
  expect(payloads.startsWith(`${mounted}/`)).toBe(true);
  expect(podSpec(worker).initContainers[0].args.join(' ')).toContain(`--out ${payloads}`);
}

describe('Kubernetes manifests of the distributed run', () => {
  it('mount every locustfile, expect as many workers as run, and give workers their payloads', () => {
    const docs = ['master.yaml', 'worker.yaml'].flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, 'k8s', f), 'utf8')).map((d) => d.toJS()),
    );
    const kustomization = parseAllDocuments(
      readFileSync(join(dir, 'k8s/kustomization.yaml'), 'utf8'),
    )[0]!.toJS();
    const generated = kustomization.configMapGenerator[0].files as string[];
    checkManifests(
      docs,
      generated.map((f) => f.split('=')[0]!),
    );
    // each generated key points at the file it is named after
    for (const f of generated) {
      const [key, path] = f.split('=') as [string, string];
      expect(resolve(dir, 'k8s', path)).toBe(join(dir, key.replace(/^siemload\./, 'siemload/')));
    }
  });

  it('render with kubectl kustomize when kubectl is installed', () => {
    const r = spawnSync(
      'kubectl',
      ['kustomize', '--load-restrictor=LoadRestrictionsNone', join(dir, 'k8s')],
      {
        encoding: 'utf8',
      },
    );
    if (r.error !== undefined) return; // no kubectl here: the file checks above still ran
    expect(r.stderr).toBe('');
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    // the generated ConfigMap name carries a hash, and the pods name that one
    expect(podSpec(docs.find((d) => d.kind === 'Job')).volumes[0].configMap.name).toBe(cm.metadata.name);
    checkManifests(docs, Object.keys(cm.data));
    expect(new Set(docs.map((d) => d.metadata.namespace ?? d.metadata.name))).toEqual(new Set(['siem-load']));
  });
});
