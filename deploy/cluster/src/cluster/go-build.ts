import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, runOrThrow } from '@siem/local-stack';
import { binDir, buildDir, COREDNS_VERSION, ETCD_VERSION, KUBERNETES_VERSION } from '../paths.js';
import type { Log } from './steps.js';

/** One `go build` from a scratch module in `<cacheDir>/build/<dir>`. */
export interface GoTarget {
  /** Scratch module folder under the build folder, and the step's name. */
  dir: string;
  /** The upstream module and version the binaries come from. */
  module: string;
  version: string;
  packages: string[];
  /** Binaries written to the bin folder (named after the packages' last element). */
  outputs: string[];
  ldflags: string;
}

/** `v1.37.2` → the staging modules' `v0.37.2`. */
export function stagingVersion(kubernetesVersion: string): string {
  const m = /^v1\.(\d+)\.(\d+)$/.exec(kubernetesVersion);
  if (!m) throw new Error(`cannot derive the staging modules' version from ${kubernetesVersion}`);
  return `v0.${m[1]}.${m[2]}`;
}

/** The `-X` flags that make the binaries report their real version (Helm's kubeVersion checks read it). */
export function kubernetesLdflags(version: string): string {
  const m = /^v(\d+)\.(\d+)\.\d+$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes version: ${version}`);
  const [, major, minor] = m;
  const cb = 'k8s.io/component-base/version';
  const cg = 'k8s.io/client-go/pkg/version';
  return [
    '-s -w',
    `-X ${cb}.gitVersion=${version}`,
    `-X ${cb}.gitMajor=${major}`,
    `-X ${cb}.gitMinor=${minor}`,
    `-X ${cb}.gitTreeState=clean`,
    `-X ${cb}.buildDate=2026-01-01T00:00:00Z`,
    `-X ${cg}.gitVersion=${version}`,
    `-X ${cg}.gitMajor=${major}`,
    `-X ${cg}.gitMinor=${minor}`,
    `-X ${cg}.gitTreeState=clean`,
  ].join(' ');
}

/**
 * The scratch module that builds Kubernetes from the module proxy: it requires k8s.io/kubernetes and
 * replaces each staging module of kubernetes' own `replace (…)` block (local `./staging/…` paths,
 * unusable outside its repository) with the published module of the matching version.
 */
export function kubernetesGoMod(upstreamGoMod: string, version: string): string {
  const goLine = /^go (\S+)$/m.exec(upstreamGoMod);
  const block = /^replace \(\n([\s\S]*?)\n\)/m.exec(upstreamGoMod);
  if (!goLine || !block) throw new Error("kubernetes' go.mod has no go directive or no replace block");
  const staging = version === '' ? '' : stagingVersion(version);
  const names: string[] = [];
  for (const line of block[1]!.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+\.\/staging\/src\/(\S+)\s*$/.exec(line);
    if (m) names.push(m[1]!);
  }
  if (names.length === 0) throw new Error("kubernetes' go.mod replaces no staging module");
  const replaces = names.map((n) => `\t${n} => ${n} ${staging}`).join('\n');
  return `module siem.local/kubernetes-build\n\ngo ${goLine[1]}\n\nrequire k8s.io/kubernetes ${version}\n\nreplace (\n${replaces}\n)\n`;
}

const kubernetesBinaries = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'kubectl',
];

export const goTargets: GoTarget[] = [
  {
    dir: 'etcd',
    module: 'go.etcd.io/etcd/server/v3',
    version: ETCD_VERSION,
    packages: ['go.etcd.io/etcd/server/v3'],
    outputs: ['etcd'],
    ldflags: '-s -w',
  },
  {
    dir: 'coredns',
    module: 'github.com/coredns/coredns',
    version: COREDNS_VERSION,
    packages: ['github.com/coredns/coredns'],
    outputs: ['coredns'],
    ldflags: '-s -w',
  },
  {
    dir: 'kubernetes',
    module: 'k8s.io/kubernetes',
    version: KUBERNETES_VERSION,
    packages: kubernetesBinaries.map((b) => `k8s.io/kubernetes/cmd/${b}`),
    outputs: kubernetesBinaries,
    ldflags: kubernetesLdflags(KUBERNETES_VERSION),
  },
];

/** What each binary in the bin folder was built from: `bin/.versions.json`. */
type Stamp = Record<string, { module: string; version: string; ldflags: string }>;
const stampFile = () => join(binDir, '.versions.json');

function readStamp(): Stamp {
  try {
    return JSON.parse(readFileSync(stampFile(), 'utf8')) as Stamp;
  } catch {
    return {};
  }
}

function writeStamp(stamp: Stamp): void {
  writeFileSync(stampFile(), `${JSON.stringify(stamp, null, 2)}\n`);
}

/** The module and version `go version -m` reads from a binary's build information. */
async function builtFrom(binary: string): Promise<{ module: string; version: string } | null> {
  const r = await run('go', ['version', '-m', binary]);
  const m = /^\s*mod\s+(\S+)\s+(\S+)/m.exec(r.stdout);
  return r.code === 0 && m ? { module: m[1]!, version: m[2]! } : null;
}

/**
 * Whether every output of the target is in the bin folder, built from the wanted module version with
 * the wanted flags. A binary without a stamp entry (built by an earlier script, the same way) is
 * accepted when its build information names the wanted module version, and stamped.
 */
async function targetPresent(t: GoTarget, stamp: Stamp): Promise<boolean> {
  for (const out of t.outputs) {
    const file = join(binDir, out);
    if (!existsSync(file)) return false;
    const s = stamp[out];
    if (s) {
      if (s.module !== t.module || s.version !== t.version || s.ldflags !== t.ldflags) return false;
      continue;
    }
    const from = await builtFrom(file);
    if (!from || from.module !== t.module || from.version !== t.version) return false;
    stamp[out] = { module: t.module, version: t.version, ldflags: t.ldflags };
  }
  return true;
}

/** Processes (not us) working in the build folder or writing into the bin folder: another build. */
export function otherBuilds(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const inBuild = cwd === buildDir || cwd.startsWith(`${buildDir}/`);
      const writesBin = argv.some((a) => a === binDir || a.startsWith(`${binDir}/`));
      if ((inBuild || writesBin) && argv.length > 0) found.push(`${entry} ${argv.join(' ').slice(0, 120)}`);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

/** Waits while another build runs (two builds of the same binaries would share 2 cores and collide). */
export async function waitForOtherBuilds(log: Log): Promise<void> {
  let said = false;
  for (;;) {
    const others = otherBuilds();
    if (others.length === 0) return;
    if (!said) {
      log(`  another build is running; waiting for it (${others[0]})`);
      said = true;
    }
    await sleep(5_000);
  }
}

async function goModDir(module: string, version: string): Promise<{ dir: string; goMod: string }> {
  const out = await runOrThrow('go', ['mod', 'download', '-json', `${module}@${version}`]);
  const info = JSON.parse(out) as { Dir?: string; GoMod?: string; Error?: string };
  if (!info.Dir || !info.GoMod)
    throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir'}`);
  return { dir: info.Dir, goMod: info.GoMod };
}

/** Where the kubernetes module is unpacked in the module cache (pause.c comes from there). */
export async function kubernetesSourceDir(): Promise<string> {
  return (await goModDir('k8s.io/kubernetes', KUBERNETES_VERSION)).dir;
}

const goEnv = () => ({ ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod -buildvcs=false' });

/** Makes the target's scratch module (as the first build script did) and builds its binaries. */
async function buildTarget(t: GoTarget): Promise<void> {
  const dir = join(buildDir, t.dir);
  mkdirSync(dir, { recursive: true });
  const goModPath = join(dir, 'go.mod');
  const env = goEnv();
  if (t.dir === 'kubernetes') {
    const current = existsSync(goModPath) ? readFileSync(goModPath, 'utf8') : '';
    if (!current.includes(`require k8s.io/kubernetes ${t.version}`)) {
      const upstream = await goModDir(t.module, t.version);
      writeFileSync(goModPath, kubernetesGoMod(readFileSync(upstream.goMod, 'utf8'), t.version));
    }
  } else {
    if (!existsSync(goModPath))
      await runOrThrow('go', ['mod', 'init', `siem.local/${t.dir}-build`], { cwd: dir, env });
    await runOrThrow('go', ['get', `${t.module}@${t.version}`], { cwd: dir, env });
  }
  const out = t.outputs.length === 1 ? join(binDir, t.outputs[0]!) : `${binDir}/`;
  await runOrThrow('go', ['build', '-trimpath', '-ldflags', t.ldflags, '-o', out, ...t.packages], {
    cwd: dir,
    env,
  });
}

/**
 * Builds each target whose binaries are missing or stale, one at a time (a Kubernetes build takes
 * ~15 min of both cores). Returns, per target, whether it was built (false: already present).
 */
export async function buildGoTargets(
  log: Log,
  runStep: (name: string, fn: () => Promise<string>) => Promise<string>,
): Promise<void> {
  mkdirSync(binDir, { recursive: true });
  for (const t of goTargets) {
    await runStep(`${t.dir} ${t.version}: ${t.outputs.join(', ')}`, async () => {
      await waitForOtherBuilds(log);
      const stamp = readStamp();
      if (await targetPresent(t, stamp)) {
        writeStamp(stamp);
        return 'cached';
      }
      await buildTarget(t);
      const after = readStamp();
      for (const o of t.outputs) after[o] = { module: t.module, version: t.version, ldflags: t.ldflags };
      writeStamp(after);
      return 'built';
    });
  }
}
