import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { clusterPaths } from '../paths.js';

/** The Strimzi release whose model (`io.strimzi:api`) the CRDs are generated from. */
export const STRIMZI_VERSION = '0.49.0';
/**
 * fabric8's CRD generator: 8.x marks the model's open parts (maps of any value, `type` unions)
 * `x-kubernetes-preserve-unknown-fields`; 7.x left unions with only their `type` field, so a valid
 * `storage` or `authentication` would be refused. 8.x runs on Jackson 3, whose databind wants
 * jackson-annotations 2.22.
 */
const FABRIC8_VERSION = '8.0.0';
const JACKSON_ANNOTATIONS_VERSION = '2.22';

const generator = new URL('../../strimzi/StrimziCrds.java', import.meta.url).pathname;

function pom(): string {
  const dep = (g: string, a: string, v: string, extra = '') =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${extra}</dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.siem</groupId><artifactId>strimzi-crds</artifactId><version>1</version><packaging>pom</packaging>
  <dependencyManagement><dependencies>
    ${dep('io.fabric8', 'kubernetes-client-bom', FABRIC8_VERSION, '<type>pom</type><scope>import</scope>')}
  </dependencies></dependencyManagement>
  <dependencies>
    ${dep('io.strimzi', 'api', STRIMZI_VERSION)}
    ${dep('io.fabric8', 'crd-generator-api-v2', FABRIC8_VERSION)}
    ${dep('com.fasterxml.jackson.core', 'jackson-annotations', JACKSON_ANNOTATIONS_VERSION)}
  </dependencies>
</project>
`;
}

export interface StrimziCrds {
  /** The CRD files, one per kind (Kafka, KafkaNodePool, KafkaTopic, KafkaUser). */
  files: string[];
  /** False when they came from the cache. */
  generated: boolean;
}

/**
 * Strimzi's CustomResourceDefinitions for the kinds `infrastructure/kafka/` uses, with full schemas,
 * generated from Strimzi's published model (Maven Central) by `deploy/cluster/strimzi/StrimziCrds.java`
 * — the operator itself is not published there, so these let an API server check the production
 * manifests field by field, with nothing to reconcile them. The jars and the files are cached per user
 * (under the cluster cache) and generated again only when the generator or the versions change.
 * Third-party output: never committed.
 */
export async function strimziCrds(log: (line: string) => void = () => {}): Promise<StrimziCrds> {
  const key = createHash('sha256').update(pom()).update(readFileSync(generator)).digest('hex').slice(0, 12);
  const home = join(clusterPaths.cacheDir, `strimzi-${STRIMZI_VERSION}`);
  const out = join(home, `crds-${key}`);
  const stamp = join(out, 'complete');
  const list = () =>
    readdirSync(out)
      .filter((f) => f.endsWith('.yml'))
      .sort()
      .map((f) => join(out, f));
  if (existsSync(stamp)) return { files: list(), generated: false };

  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'pom.xml'), pom());
  const t = performance.now();
  rmSync(join(home, 'libs'), { recursive: true, force: true });
  await runOrThrow(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', '-DoutputDirectory=libs', '-DincludeScope=runtime'],
    { cwd: home },
  );
  log(`strimzi: io.strimzi:api ${STRIMZI_VERSION} and fabric8's CRD generator resolved (${seconds(t)} s)`);
  const g = performance.now();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // a single-file source program: needs the JDK's compiler module (openjdk-17-jdk-headless)
  await runOrThrow('java', ['-cp', `${join(home, 'libs')}/*`, generator, out], { cwd: home });
  const files = list();
  if (files.length !== 4) throw new Error(`strimzi: expected 4 CRD files in ${out}, found ${files.length}`);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  log(`strimzi: ${files.length} CRDs generated (${seconds(g)} s)`);
  return { files, generated: true };
}

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 100) / 10;
}
