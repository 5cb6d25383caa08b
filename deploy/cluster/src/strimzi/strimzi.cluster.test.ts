/**
 * The production Kafka manifests (`infrastructure/kafka/`) checked by a real API server against
 * Strimzi's CRDs. The Strimzi operator is not published on Maven Central (only its `api` model is) and
 * its images are not reachable, so nothing reconciles these objects here: the test proves that every
 * document has the right group, version and kind and only fields Strimzi's model knows, each of the
 * right type (enums included), and that a wrong field is refused with its path, not pruned away
 * silently. What it cannot prove: Strimzi's value rules (required fields, minimums, patterns) live in
 * annotations of Strimzi's own CRD generator, which is not published, so the generated schemas lack
 * them; the operator would still refuse, say, a listener on port 80 that these CRDs accept.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { clusterDown, clusterUp, kubectl, kubectlOrThrow } from '../cluster/index.js';
import { strimziCrds } from './index.js';

const log = (line: string) => process.stdout.write(`[strimzi] ${line}\n`);
const NS = 'siem-strimzi';
const infra = new URL('../../../../infrastructure/kafka/', import.meta.url).pathname;
const manifests = ['kafka-cluster.yaml', 'topics.yaml'].map((f) => join(infra, f));

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}
const docs: Doc[] = manifests.flatMap((f) =>
  parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJSON() as Doc),
);
const strimziDocs = docs.filter((d) => d.apiVersion.startsWith('kafka.strimzi.io/'));
let crdNames: string[] = [];

/** A server-side apply of one document into the test namespace: kubectl's exit code and message. */
async function apply(doc: Doc) {
  return kubectl(['apply', '--server-side', '--field-manager=siem-test', '-n', NS, '-f', '-'], {
    input: stringify(doc),
  });
}

function named(kind: string, name: string, patch: (spec: Record<string, unknown>) => void): Doc {
  const doc = strimziDocs.find((d) => d.kind === kind);
  if (doc === undefined) throw new Error(`no ${kind} in infrastructure/kafka`);
  const copy = structuredClone(doc);
  copy.metadata = { ...copy.metadata, name };
  patch(copy.spec ?? {});
  return copy;
}

describe("infrastructure/kafka under Strimzi's CRDs on a real API server", () => {
  beforeAll(async () => {
    await clusterUp(log);
    const crds = await strimziCrds(log);
    await kubectlOrThrow([
      'apply',
      '--server-side',
      '--field-manager=siem-test',
      ...crds.files.flatMap((f) => ['-f', f]),
    ]);
    crdNames = crds.files.map((f) => `crd/${(/([a-z]+\.kafka\.strimzi\.io)/.exec(f) ?? [])[1]}`);
    await kubectlOrThrow(['wait', '--for=condition=Established', '--timeout=60s', ...crdNames], {
      timeoutMs: 70_000,
    });
    await kubectlOrThrow(['delete', 'namespace', NS, '--ignore-not-found', '--wait', '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    await kubectlOrThrow(['create', 'namespace', NS]);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait', '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    if (crdNames.length > 0) await kubectl(['delete', '--ignore-not-found', ...crdNames]);
    const down = await clusterDown(log);
    expect(down.leftovers).toEqual([]);
  });

  it('accepts every document of kafka-cluster.yaml and topics.yaml, server-side, with strict field validation', async () => {
    expect(strimziDocs.map((d) => d.kind).sort()).toEqual(
      expect.arrayContaining(['Kafka', 'KafkaNodePool', 'KafkaTopic', 'KafkaUser']),
    );
    const out = await kubectlOrThrow([
      'apply',
      '--server-side',
      '--field-manager=siem-test',
      '--validate=strict',
      '-n',
      NS,
      ...manifests.flatMap((f) => ['-f', f]),
    ]);
    log(`applied:\n${out.trim()}`);
    const stored = (
      await kubectlOrThrow([
        'get',
        'kafka,kafkanodepool,kafkatopic,kafkauser,configmap',
        '-n',
        NS,
        '-o',
        'name',
      ])
    )
      .split('\n')
      .filter((l) => l !== '' && l !== 'configmap/kube-root-ca.crt');
    const expected = docs.map(
      (d) =>
        `${d.kind.toLowerCase()}${d.apiVersion.includes('/') ? `.${d.apiVersion.split('/')[0]}` : ''}/${d.metadata.name}`,
    );
    expect(stored.sort()).toEqual(expected.sort());
  });

  it('keeps every field as written: nothing is pruned by the schema', async () => {
    for (const doc of strimziDocs) {
      const got = JSON.parse(
        await kubectlOrThrow([
          'get',
          `${doc.kind.toLowerCase()}.kafka.strimzi.io/${doc.metadata.name}`,
          '-n',
          NS,
          '-o',
          'json',
        ]),
      ) as Doc;
      expect({ kind: doc.kind, name: doc.metadata.name, spec: got.spec }).toEqual({
        kind: doc.kind,
        name: doc.metadata.name,
        spec: doc.spec,
      });
    }
  });

  it('refuses a field of the wrong type, an unknown field and a value outside an enum, naming the field', async () => {
    const cases: { doc: Doc; message: RegExp }[] = [
      {
        doc: named('KafkaTopic', 'wrong-type', (s) => {
          s.partitions = 'twelve';
        }),
        message: /spec\.partitions/,
      },
      {
        doc: named('KafkaTopic', 'unknown-field', (s) => {
          s.partitionCount = 12;
        }),
        message: /\.spec\.partitionCount: field not declared in schema/,
      },
      {
        doc: named('KafkaNodePool', 'bad-role', (s) => {
          s.roles = ['observer'];
        }),
        message: /spec\.roles\[0\].*Unsupported value: "observer"/,
      },
      {
        doc: named('Kafka', 'bad-listener-port', (s) => {
          const kafka = s.kafka as { listeners: { port: unknown }[] };
          kafka.listeners[0] = { ...kafka.listeners[0], port: '9092' };
        }),
        message: /spec\.kafka\.listeners\[0\]\.port/,
      },
    ];
    for (const c of cases) {
      const r = await apply(c.doc);
      expect({ name: c.doc.metadata.name, code: r.code }).toEqual({ name: c.doc.metadata.name, code: 1 });
      log(`refused ${c.doc.kind}/${c.doc.metadata.name}: ${r.stderr.trim()}`);
      expect(r.stderr).toMatch(c.message);
    }
    const names = (
      await kubectlOrThrow(['get', 'kafka,kafkanodepool,kafkatopic', '-n', NS, '-o', 'name'])
    ).split('\n');
    for (const c of cases) expect(names.some((n) => n.endsWith(`/${c.doc.metadata.name}`))).toBe(false);
  });
});
