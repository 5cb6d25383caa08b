import { existsSync } from 'node:fs';
import { fetchHelm, HELM_VERSION, helmBinary } from '@siem/local-stack';
import { buildGoTargets } from './go-build.js';
import { buildCorednsImage, buildPauseImage } from './local-images.js';
import { requirePrerequisites } from './prerequisites.js';
import { type Log, Steps, type StepTiming, stdoutLog } from './steps.js';

/**
 * `npm run cluster -- build`: every binary and image the cluster runs, built once into the cache
 * (etcd, CoreDNS, the Kubernetes binaries from the Go module proxy; the pause and CoreDNS images).
 * What is there and current is skipped. Helm is the stack's (`npm run stack -- fetch helm`).
 */
export async function clusterBuild(log: Log = stdoutLog): Promise<StepTiming[]> {
  const steps = new Steps(log, 'SIEM_ERR_CLUSTER_BUILD');
  await steps.run('check build prerequisites (go, gcc)', async () => requirePrerequisites('build', 'build'));
  await buildGoTargets(log, (name, fn) => steps.run(`build ${name}`, fn, (r) => r));
  await steps.run('build the pause image (pause.c, gcc -static)', buildPauseImage, (r) => r);
  await steps.run('build the CoreDNS image', buildCorednsImage, (r) => r);
  await steps.run(
    `helm ${HELM_VERSION}`,
    async () => ((await fetchHelm()) ? 'built' : 'cached'),
    (r) => r,
  );
  return steps.timings;
}

export { helmBinary };

/** Whether `build` has left everything `up` needs (binaries present; images are checked by up). */
export function builtBinariesMissing(binaries: string[]): string[] {
  return binaries.filter((b) => !existsSync(b));
}
