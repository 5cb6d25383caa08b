import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { imagesCacheDir } from './recipe.js';

/**
 * What a Dockerfile's RUN steps need to reach the npm registry the way this machine does: npm's own
 * registry and CA file, given to the steps as bind mounts (`buildah build --volume`) so they are used
 * while building and never land in an image. The CA file matters where egress goes through a
 * TLS-inspecting proxy whose CA only the machine trusts.
 */
export async function npmBuildVolumes(): Promise<string[]> {
  const get = async (key: string) => (await runOrThrow('npm', ['config', 'get', key])).trim();
  const registry = await get('registry');
  const cafile = await get('cafile');
  const lines = [`registry=${registry}`];
  const volumes: string[] = [];
  if (cafile !== '' && cafile !== 'null' && cafile !== 'undefined' && existsSync(cafile)) {
    volumes.push('--volume', `${cafile}:/etc/ssl/build-ca.crt:ro`);
    lines.push('cafile=/etc/ssl/build-ca.crt');
  }
  // npm's global config file in the image (its prefix is /usr/local), whatever user a step runs as.
  mkdirSync(imagesCacheDir, { recursive: true });
  const npmrc = join(imagesCacheDir, 'build-npmrc');
  writeFileSync(npmrc, `${lines.join('\n')}\n`);
  volumes.push('--volume', `${npmrc}:/usr/local/etc/npmrc:ro`);
  return volumes;
}
