import { createHash } from 'node:crypto';
import { repoRoot } from '@siem/local-stack';
import { npmBuildVolumes } from './build-network.js';
import { buildah, imageId } from './buildah.js';
import { contextHash } from './context-hash.js';
import { GATEWAY_IMAGE, gatewayBaseRecipe, gatewayDockerfile } from './recipe.js';

/**
 * `siem-gateway:<tag>`, the tag a hash of the build context and of the recipe of the base image it
 * starts from: the same tree never builds twice, and any change to what goes in builds anew.
 */
export async function gatewayImageRef(): Promise<string> {
  const hash = createHash('sha256')
    .update(await contextHash(repoRoot, gatewayDockerfile))
    .update(`\0${gatewayBaseRecipe().key}`)
    .digest('hex');
  return `${GATEWAY_IMAGE}:${hash.slice(0, 16)}`;
}

/**
 * Options every image is built with: the Dockerfile's FROM resolves in the project's store only
 * (`--pull-never`: no registry), RUN steps in a chroot (no runc needed) on the host's network, each
 * step's layer kept so a failed build resumes where it stopped.
 */
export const buildOptions = [
  '--pull-never',
  '--isolation',
  'chroot',
  '--network',
  'host',
  '--layers',
  '--format',
  'docker',
];

/** Builds deploy/docker/Dockerfile with the repository as its context, unless the store has the ref. */
export async function buildGatewayImage(ref: string): Promise<boolean> {
  if ((await imageId(ref)) !== null) return false;
  const volumes = await npmBuildVolumes();
  await buildah(['build', ...buildOptions, ...volumes, '-f', gatewayDockerfile, '-t', ref, repoRoot], {
    cwd: repoRoot,
  });
  return true;
}
