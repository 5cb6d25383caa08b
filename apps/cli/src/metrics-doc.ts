import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeMetrics, metricsRegistry, renderMetricsDoc } from '@siem/observability';

/**
 * docs/metrics.md: every metric the code exports, generated from the metrics registry after loading
 * every library (each declares its metrics when its module loads). A golden test keeps the committed
 * file equal to this; regenerate it with
 *   node --conditions=source --import tsx apps/cli/src/metrics-doc.ts
 */
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const METRICS_DOC = join(repoRoot, 'docs/metrics.md');

const HEADER = `# Metrics

Every metric the gateway, the normalizer and the all role export on \`/metrics\`, generated from the
code (\`node --conditions=source --import tsx apps/cli/src/metrics-doc.ts\`; a test keeps this file
equal to it). Besides these, prom-client's process and Node.js metrics (\`process_*\`, \`nodejs_*\`).

Every source, buffer and sink reports the component vocabulary, labelled \`component_id\` (the adapter
id, \`main\` for the buffer, the sink's name), \`component_kind\` (\`source\`, \`buffer\`, \`sink\`) and
\`component_type\` (\`syslog_udp\`, \`memory_disk\`, \`kafka\`, \`timescaledb\`, …). A discard is
\`intentional="true"\` when a policy asked for it (a rate limit, \`drop_newest\`), \`"false"\` when
something failed. What only one family has keeps its own \`siem_<family>_…\` names.`;

/** The package names of every library (`libs/*`), whose modules declare the metrics. */
export function libraryPackages(): string[] {
  const libs = join(repoRoot, 'libs');
  return readdirSync(libs, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => {
      try {
        const pkg = JSON.parse(readFileSync(join(libs, d.name, 'package.json'), 'utf8')) as { name?: string };
        return pkg.name === undefined ? [] : [pkg.name];
      } catch {
        return [];
      }
    })
    .sort();
}

export async function renderMetricsDocument(): Promise<string> {
  for (const name of libraryPackages()) await import(name);
  return renderMetricsDoc(await describeMetrics(metricsRegistry), HEADER);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(METRICS_DOC, await renderMetricsDocument());
  // On stderr, and relative: a redirect of stdout into the file cannot corrupt it with a machine's path.
  process.stderr.write(`wrote ${relative(process.cwd(), METRICS_DOC)}\n`);
}
