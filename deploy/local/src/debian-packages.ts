import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackPaths } from './paths.js';
import { run, runOrThrow } from './proc.js';

/**
 * Debian packages used without installing them (syslog-ng's, which conflict with rsyslog, used by the
 * differential tests): `apt-get download` fetches the packages and the libraries they need that the
 * machine lacks, `dpkg -x` unpacks them into the per-user cache (stackPaths.cacheDir), and their
 * programs run from there with LD_LIBRARY_PATH pointing into it.
 */
export interface DebianPackages {
  /** The unpacked tree (`<root>/usr/bin/…`). */
  root: string;
  /** LD_LIBRARY_PATH that finds the unpacked libraries first, then the caller's own. */
  libraryPath: string;
}

async function installed(pkg: string): Promise<boolean> {
  const r = await run('dpkg-query', ['-s', pkg]);
  return r.code === 0 && r.stdout.includes('Status: install ok installed');
}

/** The hard dependencies of a package (no alternatives, no virtual packages). */
async function dependsOf(pkg: string): Promise<string[]> {
  const out = await runOrThrow('apt-cache', ['depends', '--important', pkg]);
  const deps: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s+\|?Depends: ([^<\s][^\s]*)$/.exec(line);
    if (m) deps.push(m[1]!.replace(/:any$/, ''));
  }
  return [...new Set(deps)];
}

/** Folders below the unpacked tree that hold shared libraries. */
function libraryDirs(dir: string, out: string[] = []): string[] {
  let hasLib = false;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.isDirectory()) libraryDirs(p, out);
    else if (/\.so(\.|$)/.test(name)) hasLib = true;
  }
  if (hasLib) out.push(dir);
  return out;
}

function unpacked(root: string): DebianPackages {
  return {
    root,
    libraryPath: [...libraryDirs(root), process.env.LD_LIBRARY_PATH ?? ''].filter((d) => d !== '').join(':'),
  };
}

/** The file whose presence says the packages of `name` are fetched and unpacked. */
export function debianPackagesStamp(name: string): string {
  return join(stackPaths.cacheDir, name, 'complete');
}

/**
 * Fetches `packages` (with their missing dependencies) into `<cache>/<name>` once and unpacks them;
 * later calls re-use them. `check` runs on a fresh unpack (a program's `--version`, say) and throws when
 * the result is unusable, so a broken fetch is not kept.
 */
export async function fetchDebianPackages(
  name: string,
  packages: readonly string[],
  check: (unpacked: DebianPackages) => Promise<void>,
): Promise<DebianPackages> {
  const home = join(stackPaths.cacheDir, name);
  const root = join(home, 'root');
  const complete = debianPackagesStamp(name);
  if (existsSync(complete)) return unpacked(root);
  rmSync(home, { recursive: true, force: true });
  const debs = join(home, 'debs');
  mkdirSync(debs, { recursive: true });
  mkdirSync(root, { recursive: true });
  const wanted = new Set(packages);
  for (const pkg of packages) {
    for (const dep of await dependsOf(pkg)) if (!wanted.has(dep) && !(await installed(dep))) wanted.add(dep);
  }
  await runOrThrow('apt-get', ['download', ...wanted], { cwd: debs });
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    await runOrThrow('dpkg', ['-x', join(debs, deb), root]);
  }
  const result = unpacked(root);
  await check(result);
  writeFileSync(complete, `${new Date().toISOString()} ${[...wanted].join(' ')}\n`);
  return result;
}
