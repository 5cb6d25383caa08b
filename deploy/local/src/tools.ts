import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stackPaths } from './paths.js';
import { runOrThrow } from './proc.js';

export const HELM_VERSION = 'v3.19.2';
const binDir = join(stackPaths.cacheDir, 'bin');
export const helmBinary = join(binDir, 'helm');

/**
 * Helm is not packaged by Debian: it is built from its source with the Go toolchain (modules from the
 * Go module proxy) into the cache's bin folder, once. Used by the chart tests (`helm lint`, `helm template`).
 */
export async function fetchHelm(): Promise<boolean> {
  if (existsSync(helmBinary)) return false;
  mkdirSync(binDir, { recursive: true });
  await runOrThrow('go', ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
    env: { ...process.env, GOBIN: binDir, GOFLAGS: '-buildvcs=false' },
  });
  return true;
}
