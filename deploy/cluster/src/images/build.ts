import { archivePath, archiveSize, exportImage, importArchives } from './archive.js';
import { ensureBaseImages } from './base-image.js';
import { buildGatewayImage, gatewayImageRef } from './gateway-image.js';
import { buildKafkaImage, kafkaImageRef } from './kafka-image.js';
import { gatewayBaseRecipe } from './recipe.js';

export interface BuildImagesOptions {
  /** Receives one line per step with its time. */
  log: (line: string) => void;
}

export interface BuiltImages {
  /** `siem-gateway:<context hash>`. */
  gateway: string;
  /** `siem-kafka:<Kafka version>`. */
  kafka: string;
  /** Bytes each image takes unpacked, by ref. */
  sizes: Record<string, number>;
  /** The refs this run built (none when everything was up to date). */
  built: string[];
  /** Seconds each step took in this run (0 when it had nothing to do), by step. */
  seconds: Record<string, number>;
}

/**
 * Builds what is missing of the images the chart runs, with one builder (buildah) and no registry:
 * the base images (Debian by debootstrap, Node at the .nvmrc pin), the gateway from
 * deploy/docker/Dockerfile, Kafka from deploy/docker/kafka/Dockerfile, then their tarballs for
 * containerd. A second run with nothing changed builds nothing.
 */
export async function buildImages({ log }: BuildImagesOptions): Promise<BuiltImages> {
  const seconds: Record<string, number> = {};
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    const result = await work();
    seconds[name] = (Date.now() - start) / 1000;
    log(`images: ${name} ${result === false ? 'up to date' : 'done'} (${seconds[name].toFixed(1)} s)`);
    return result;
  };
  const recipe = gatewayBaseRecipe();
  await step('base', () => ensureBaseImages(recipe, (line) => log(`images:   ${line}`)));
  const gateway = await gatewayImageRef();
  const gatewayBuilt = await step('gateway', () => buildGatewayImage(gateway));
  const kafkaBuilt = await step('kafka', () => buildKafkaImage(recipe.debianImage));
  await step('export', async () => {
    const wrote = [await exportImage(gateway), await exportImage(kafkaImageRef)];
    return wrote.includes(true);
  });
  const sizes = { [gateway]: archiveSize(gateway), [kafkaImageRef]: archiveSize(kafkaImageRef) };
  for (const [ref, bytes] of Object.entries(sizes)) log(`images: ${ref} ${(bytes / 1e6).toFixed(0)} MB`);
  const built = [...(gatewayBuilt ? [gateway] : []), ...(kafkaBuilt ? [kafkaImageRef] : [])];
  return { gateway, kafka: kafkaImageRef, sizes, seconds, built };
}

/**
 * Imports the built images into the containerd at `containerdSocket` (namespace k8s.io), where they
 * are `docker.io/library/siem-gateway:<tag>` and `docker.io/library/siem-kafka:<version>`.
 */
export async function importImages(containerdSocket: string, refs?: readonly string[]): Promise<void> {
  // Given the refs buildImages returned, the ones it built are imported even if the working tree
  // changed since (another tag by now); without them, the refs of the tree as it is.
  const wanted = refs ?? [await gatewayImageRef(), kafkaImageRef];
  await importArchives(containerdSocket, wanted.map(archivePath));
}
