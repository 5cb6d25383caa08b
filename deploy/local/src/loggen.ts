import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackPaths } from './paths.js';
import { run, runOrThrow } from './proc.js';

/**
 * syslog-ng's load generator `loggen`, for the syslog listener benchmark. Debian ships it in
 * `syslog-ng-core`, which conflicts with rsyslog (used by the differential tests), so it is not
 * installed: `apt-get download` fetches the package and the libraries it needs that the machine lacks,
 * `dpkg -x` unpacks them into the ignored cache, and `loggen` runs from there with SYSLOGNG_PREFIX and
 * LD_LIBRARY_PATH pointing into it.
 */
export interface Loggen {
  /** The loggen executable. */
  bin: string;
  /** Environment to run it with (SYSLOGNG_PREFIX, LD_LIBRARY_PATH). */
  env: NodeJS.ProcessEnv;
}

const PACKAGE = 'syslog-ng-core';
const home = join(stackPaths.cacheDir, 'syslog-ng');
const root = join(home, 'root');
const complete = join(home, 'complete');

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

function loggenOf(): Loggen {
  return {
    bin: join(root, 'usr', 'bin', 'loggen'),
    env: {
      ...process.env,
      SYSLOGNG_PREFIX: join(root, 'usr'),
      LD_LIBRARY_PATH: [...libraryDirs(root), process.env.LD_LIBRARY_PATH ?? '']
        .filter((d) => d !== '')
        .join(':'),
    },
  };
}

/** Fetches loggen into the cache (once; later calls re-use it) and returns how to run it. */
export async function fetchLoggen(): Promise<Loggen> {
  if (existsSync(complete)) return loggenOf();
  rmSync(home, { recursive: true, force: true });
  const debs = join(home, 'debs');
  mkdirSync(debs, { recursive: true });
  mkdirSync(root, { recursive: true });
  const wanted = [PACKAGE];
  for (const dep of await dependsOf(PACKAGE)) if (!(await installed(dep))) wanted.push(dep);
  await runOrThrow('apt-get', ['download', ...wanted], { cwd: debs });
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    await runOrThrow('dpkg', ['-x', join(debs, deb), root]);
  }
  const loggen = loggenOf();
  const check = await run(loggen.bin, ['--help'], { env: loggen.env });
  if (check.code !== 0) {
    throw new Error(`loggen from ${PACKAGE} does not run: ${(check.stderr || check.stdout).trim()}`);
  }
  writeFileSync(complete, `${new Date().toISOString()} ${wanted.join(' ')}\n`);
  return loggen;
}
