import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Locust in its own virtual environment under the project's cache folder, at the versions pinned in
 * requirements.txt; rebuilt when that file changes, untouched otherwise (a second run installs nothing).
 */
export function ensureLocust(
  cacheDir: string,
  requirementsFile: string,
  log: (line: string) => void,
): string {
  const dir = join(cacheDir, 'locust-venv');
  const locust = join(dir, 'bin', 'locust');
  const stamp = join(dir, '.requirements');
  const wanted = readFileSync(requirementsFile, 'utf8');
  if (existsSync(locust) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return locust;
  const started = Date.now();
  log(`installing Locust into ${dir} (pinned in load-tests/locust/requirements.txt)`);
  const steps: [string, string[]][] = [
    ['python3', ['-m', 'venv', dir]],
    [join(dir, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', '-r', requirementsFile]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0)
      throw new Error(
        `${[cmd, ...args].join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ` +
          'needs python3 with the venv module (Debian: python3-venv) and the PyPI registry',
      );
  }
  writeFileSync(stamp, wanted);
  log(`Locust installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return locust;
}
