import { join } from 'node:path';
import { run, runOrThrow } from '@siem/local-stack';
import { buildahRoot } from './recipe.js';

/**
 * buildah (Debian's) with the project's own image store in the per-user cache, so the images it builds
 * never mix with the machine's and survive across checkouts. Builds use chroot isolation (no runc needed)
 * and the overlay driver.
 */
export const buildahGlobalArgs = [
  '--root',
  join(buildahRoot, 'storage'),
  '--runroot',
  join(buildahRoot, 'run'),
  '--storage-driver',
  'overlay',
];

export function buildah(args: readonly string[], options: { cwd?: string } = {}): Promise<string> {
  return runOrThrow('buildah', [...buildahGlobalArgs, ...args], options);
}

/** The ID of a local image, or null when the store has none of that name. */
export async function imageId(name: string): Promise<string | null> {
  const r = await run('buildah', [
    ...buildahGlobalArgs,
    'inspect',
    '--type',
    'image',
    '--format',
    '{{.FromImageID}}',
    name,
  ]);
  return r.code === 0 ? r.stdout.trim() : null;
}

/** The OCI image configuration of a local image. */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
}

export async function imageConfig(name: string): Promise<ImageConfig> {
  const out = await buildah(['inspect', '--type', 'image', name]);
  return (JSON.parse(out) as { OCIv1: { config?: ImageConfig } }).OCIv1.config ?? {};
}

/** The bytes the image's layers take unpacked. */
export async function imageSize(name: string): Promise<number> {
  const out = await buildah(['images', '--json', name]);
  const [entry] = JSON.parse(out) as { size?: number }[];
  if (typeof entry?.size !== 'number') throw new Error(`buildah reports no size for ${name}`);
  return entry.size;
}
