import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { METRICS_DOC, renderMetricsDocument } from './metrics-doc.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Non-test TypeScript sources of every library and app. */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (
          e.name !== 'node_modules' &&
          e.name !== 'dist' &&
          e.name !== 'testing' &&
          e.name !== 'test-support'
        )
          walk(path);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.startsWith('test-')) {
        out.push(path);
      }
    }
  };
  for (const top of ['libs', 'apps']) {
    for (const pkg of readdirSync(join(repoRoot, top), { withFileTypes: true })) {
      if (!pkg.isDirectory()) continue;
      try {
        walk(join(repoRoot, top, pkg.name, 'src'));
      } catch {
        // a package without src
      }
    }
  }
  return out;
}

describe('docs/metrics.md', () => {
  it('is what the code declares (regenerate: node --conditions=source --import tsx apps/cli/src/metrics-doc.ts)', async () => {
    const committed = readFileSync(METRICS_DOC, 'utf8');
    expect(committed).toBe(await renderMetricsDocument());
  });

  it('lists every metric name the sources create, so none is declared only in a constructor', () => {
    const doc = readFileSync(METRICS_DOC, 'utf8');
    const documented = [...doc.matchAll(/^\| `(siem_[a-z0-9_]+)`/gm)].map((m) => m[1]!);
    const missing: string[] = [];
    for (const file of sources()) {
      const text = readFileSync(file, 'utf8');
      const where = file.slice(repoRoot.length);
      // name: 'siem_…' in a metric's configuration
      for (const m of text.matchAll(/\bname:\s*'(siem_[a-z0-9_]+)'/g)) {
        if (!documented.includes(m[1]!)) missing.push(`${m[1]} (${where})`);
      }
      // name: `${prefix}_…`: a family's name made from a prefix; some documented name must end so
      for (const m of text.matchAll(/\bname:\s*`\$\{[^}]+\}(_[a-z0-9_]+)`/g)) {
        if (!documented.some((d) => d.endsWith(m[1]!))) missing.push(`*${m[1]} (${where})`);
      }
    }
    expect(missing, 'metrics created but not declared when their module loads').toEqual([]);
  });
});
