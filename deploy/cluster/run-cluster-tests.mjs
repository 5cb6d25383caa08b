#!/usr/bin/env node
/**
 * The last part of `npm test`: the tests that need the project's own Kubernetes cluster (vitest project
 * `cluster`), run after the others so the cluster has the machine's two cores to itself. Whatever the
 * tests leave running, `cluster down` stops afterwards: nothing outlives this script.
 *
 * SIEM_CLUSTER=off skips them, loudly (a machine that cannot run a cluster; the bootstrap skips the
 * cluster's build then too). Plain Node with builtins only.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (process.env.SIEM_CLUSTER === 'off') {
  process.stderr.write(
    '[cluster tests] SKIPPED: SIEM_CLUSTER=off (the chart was not installed on a cluster)\n',
  );
  process.exit(0);
}

const vitest = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'cluster'],
  { cwd: root, stdio: 'inherit' },
);
const down = spawnSync(
  process.execPath,
  ['--conditions=source', '--import', 'tsx', join(root, 'deploy', 'cluster', 'src', 'main.ts'), 'down'],
  { cwd: root, stdio: 'inherit' },
);
if (down.status !== 0) process.stderr.write('[cluster tests] cluster down failed: see above\n');
process.exit(vitest.status !== 0 ? (vitest.status ?? 1) : (down.status ?? 1));
