import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { normalizeImageName, writeOciImageTarball } from '../oci/index.js';
import { binDir, buildDir, COREDNS_IMAGE, imagesDir, PAUSE_IMAGE } from '../paths.js';
import { kubernetesSourceDir } from './go-build.js';

/** The images the cluster itself needs (the sandbox image and DNS), as tarballs in the cache. */
export const clusterImages = {
  pause: { name: PAUSE_IMAGE, file: join(imagesDir, 'pause-3.10.oci.tar') },
  coredns: { name: COREDNS_IMAGE, file: join(imagesDir, `coredns-${COREDNS_IMAGE.split(':')[1]}.oci.tar`) },
};

/** A tarball is current when its stamp records the inputs it was made from. */
function current(file: string, inputs: string): boolean {
  return (
    existsSync(file) && existsSync(`${file}.inputs`) && readFileSync(`${file}.inputs`, 'utf8') === inputs
  );
}

/**
 * The pause image: Kubernetes' own build/pause/linux/pause.c (from the kubernetes module in the Go
 * module cache), linked statically, alone in one layer.
 */
export async function buildPauseImage(): Promise<'built' | 'cached'> {
  const img = clusterImages.pause;
  const src = join(await kubernetesSourceDir(), 'build', 'pause', 'linux', 'pause.c');
  const inputs = `${img.name}\n${readFileSync(src, 'utf8')}`;
  if (current(img.file, inputs)) return 'cached';
  const out = join(buildDir, 'pause');
  mkdirSync(out, { recursive: true });
  const bin = join(out, 'pause');
  await runOrThrow('gcc', ['-Os', '-Wall', '-Werror', '-static', '-DVERSION=3.10', '-o', bin, src]);
  await runOrThrow('strip', [bin]).catch(() => ''); // smaller when binutils is there; works without
  writeOciImageTarball(
    {
      name: img.name,
      layers: [{ entries: [{ type: 'file', path: 'pause', sourceFile: bin, mode: 0o755 }] }],
      config: { entrypoint: ['/pause'], user: '65535:65535' },
    },
    img.file,
  );
  writeFileSync(`${img.file}.inputs`, inputs);
  return 'built';
}

/** CoreDNS: the static binary built from the module proxy, alone in one layer (it needs no libc). */
export async function buildCorednsImage(): Promise<'built' | 'cached'> {
  const img = clusterImages.coredns;
  const bin = join(binDir, 'coredns');
  const st = statSync(bin);
  const stamp = `${st.size} ${st.mtimeMs}`;
  const inputs = `${img.name}\nnormalized\n${stamp}`;
  if (current(img.file, inputs)) return 'cached';
  writeOciImageTarball(
    {
      name: img.name,
      layers: [
        {
          entries: [
            { type: 'file', path: 'coredns', sourceFile: bin, mode: 0o755 },
            { type: 'dir', path: 'etc/coredns' },
            { type: 'dir', path: 'tmp', mode: 0o1777 },
          ],
        },
      ],
      config: { entrypoint: ['/coredns'] },
    },
    img.file,
  );
  writeFileSync(`${img.file}.inputs`, inputs);
  return 'built';
}

/** Names of the images in the cluster's containerd (`k8s.io` namespace, the one the CRI uses). */
export async function importedImages(socket: string): Promise<Set<string>> {
  const out = await runOrThrow('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'ls', '-q']);
  return new Set(out.split('\n').filter(Boolean));
}

/** Imports an image tarball into the cluster's containerd unless an image of that name is there. */
export async function importImage(socket: string, image: string, file: string): Promise<boolean> {
  const name = normalizeImageName(image);
  if ((await importedImages(socket)).has(name)) return false;
  await runOrThrow('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', file]);
  if (!(await importedImages(socket)).has(name)) {
    throw new Error(`ctr imported ${file} but no image is named ${name}`);
  }
  return true;
}
