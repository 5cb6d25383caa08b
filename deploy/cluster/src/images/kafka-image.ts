import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fetchKafkaJars, kafkaJarsDir } from '@siem/local-stack';
import { buildah, imageConfig, imageId } from './buildah.js';
import { buildOptions } from './gateway-image.js';
import { imagesCacheDir, KAFKA_IMAGE, KAFKA_IMAGE_TAG, kafkaDockerDir } from './recipe.js';

export const kafkaImageRef = `${KAFKA_IMAGE}:${KAFKA_IMAGE_TAG}`;

/** A hash of what the Kafka image is made from: its folder's files, the jars' names, its base image. */
async function kafkaContextHash(jars: readonly string[], baseId: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of readdirSync(kafkaDockerDir).sort()) {
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(kafkaDockerDir, name)))
      .update('\0');
  }
  hash.update(jars.join('\0')).update(`\0${baseId}`);
  return hash.digest('hex');
}

/**
 * Builds deploy/docker/kafka/Dockerfile (tag: the Kafka version) from a context folder holding that
 * folder's files and the stack's Kafka jars (hard links, no copies). The tag never changes, so a label
 * holds the hash of what the image was made from and a different one means building again.
 */
export async function buildKafkaImage(debianImage: string): Promise<boolean> {
  await fetchKafkaJars();
  const jars = readdirSync(kafkaJarsDir)
    .filter((f) => f.endsWith('.jar'))
    .sort();
  const hash = await kafkaContextHash(jars, (await imageId(debianImage)) ?? '');
  if ((await imageId(kafkaImageRef)) !== null) {
    if ((await imageConfig(kafkaImageRef)).Labels?.['siem.context'] === hash) return false;
  }
  const context = join(imagesCacheDir, 'kafka-context');
  rmSync(context, { recursive: true, force: true });
  cpSync(kafkaDockerDir, context, { recursive: true });
  mkdirSync(join(context, 'libs'));
  for (const jar of jars) {
    try {
      linkSync(join(kafkaJarsDir, jar), join(context, 'libs', jar));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      copyFileSync(join(kafkaJarsDir, jar), join(context, 'libs', jar));
    }
  }
  await buildah([
    'build',
    ...buildOptions,
    '--label',
    `siem.context=${hash}`,
    '-f',
    join(context, 'Dockerfile'),
    '-t',
    kafkaImageRef,
    context,
  ]);
  return true;
}
