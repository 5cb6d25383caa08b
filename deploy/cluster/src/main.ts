/**
 * `npm run cluster -- build | up | down | status | images | strimzi-crds`: a one-node Kubernetes cluster
 * built and run by the project itself (see README, "Kubernetes").
 */
import {
  ClusterError,
  clusterBuild,
  clusterDown,
  clusterStatus,
  clusterUp,
  formatStatus,
} from './cluster/index.js';
import { buildImages, importImages } from './images/index.js';
import { containerdSocket } from './paths.js';
import { strimziCrds } from './strimzi/index.js';

const usage = 'usage: npm run cluster -- build | up | down [--purge] | status | images | strimzi-crds';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'build':
      await clusterBuild();
      return 0;
    case 'up':
      try {
        await clusterUp();
      } catch (err) {
        process.stderr.write('`npm run cluster -- down` removes what this up started\n');
        throw err;
      }
      process.stdout.write(formatStatus(await clusterStatus()));
      return 0;
    case 'down': {
      const r = await clusterDown(undefined, { purge: rest.includes('--purge') });
      return r.leftovers.length === 0 ? 0 : 1;
    }
    case 'status': {
      const s = await clusterStatus();
      process.stdout.write(formatStatus(s));
      return s.ready ? 0 : 1;
    }
    case 'images': {
      const built = await buildImages({ log: (line) => process.stdout.write(`${line}\n`) });
      if ((await clusterStatus()).ready) {
        await importImages(containerdSocket);
        process.stdout.write(`imported into the cluster: ${built.gateway} ${built.kafka}\n`);
      } else {
        process.stdout.write(
          'the cluster is not up: built only (`npm run cluster -- up`, then again to import)\n',
        );
      }
      return 0;
    }
    case 'strimzi-crds': {
      // the CRD files, one path per line: kubectl apply --server-side $(… | sed 's/^/-f /')
      const crds = await strimziCrds((line) => process.stderr.write(`${line}\n`));
      process.stdout.write(`${crds.files.join('\n')}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const code = err instanceof ClusterError ? `${err.code}: ` : '';
  process.stderr.write(`${code}${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
