import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { buildah, imageId } from './buildah.js';
import { archivesDir, fullImageName } from './recipe.js';

/** The docker-archive tarball of an image ref (`name:tag`) in the cache. */
export function archivePath(ref: string): string {
  return join(archivesDir, `${ref.replace(/[/:]/g, '_')}.tar`);
}

/**
 * Writes the image as a docker-archive (what `ctr images import` reads), named as CRI resolves the
 * chart's short name (`docker.io/library/<name>:<tag>`), unless the tarball already holds that image
 * (the image ID it was written from is kept beside it). Returns whether it wrote one.
 */
export async function exportImage(ref: string): Promise<boolean> {
  const file = archivePath(ref);
  const idFile = `${file}.image-id`;
  const id = await imageId(ref);
  if (id === null) throw new Error(`no image ${ref} to export`);
  if (existsSync(file) && existsSync(idFile) && readFileSync(idFile, 'utf8').trim() === id) return false;
  mkdirSync(archivesDir, { recursive: true });
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  await buildah(['push', '--quiet', ref, `docker-archive:${tmp}:${fullImageName(ref)}`]);
  renameSync(tmp, file);
  writeFileSync(idFile, `${id}\n`);
  return true;
}

/** The image's size: its layers unpacked, as its docker-archive holds them. */
export function archiveSize(ref: string): number {
  return statSync(archivePath(ref)).size;
}

/** Imports tarballs into containerd's `k8s.io` namespace, where the kubelet's CRI looks for images. */
export async function importArchives(containerdSocket: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`no image tarball ${file}: build the images first (buildImages)`);
    await runOrThrow('ctr', ['--address', containerdSocket, '-n', 'k8s.io', 'images', 'import', file]);
  }
}
