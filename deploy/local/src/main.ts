/**
 * The local stack: a real Kafka broker (KRaft), PostgreSQL and the TimescaleDB engine, on the
 * project's own ports and data folders. `npm run stack -- up|down|status|fetch|env [service…]`.
 * `fetch [kafka-jars|helm|loggen …]` fetches into the cache what the tests and benchmarks run (all three
 * when none is named); deploy/local/bootstrap.mjs calls it for the ones missing.
 */
import { fetchKafkaJars } from './kafka.js';
import { fetchLoggen } from './loggen.js';
import { stackUrls } from './paths.js';
import { stackDown, stackStatus, stackUp } from './stack.js';
import { fetchHelm, HELM_VERSION } from './tools.js';

async function main(): Promise<number> {
  const [command = 'status', ...names] = process.argv.slice(2);
  switch (command) {
    case 'fetch':
      return fetchArtefacts(names);
    case 'up': {
      const started = await stackUp(names);
      process.stdout.write(started.length > 0 ? `started: ${started.join(', ')}\n` : 'already running\n');
      return printStatus(names);
    }
    case 'down': {
      const stopped = await stackDown(names);
      process.stdout.write(stopped.length > 0 ? `stopped: ${stopped.join(', ')}\n` : 'nothing was running\n');
      return 0;
    }
    case 'status':
      return printStatus(names);
    case 'env':
      process.stdout.write(
        `export SIEM_KAFKA__BROKERS=${stackUrls.kafkaBrokers}\nexport SIEM_STORAGE__DATABASE_URL=${stackUrls.timescale}\n`,
      );
      return 0;
    default:
      process.stderr.write(
        'usage: npm run stack -- up|down|status|env [kafka|postgres|timescaledb …] | fetch [kafka-jars|helm|loggen …]\n',
      );
      return 2;
  }
}

const fetchers: Record<string, () => Promise<string>> = {
  'kafka-jars': async () => ((await fetchKafkaJars()) ? 'kafka jars fetched' : 'kafka jars already cached'),
  helm: async () => ((await fetchHelm()) ? `helm ${HELM_VERSION} built` : 'helm already built'),
  loggen: async () => `loggen ready: ${(await fetchLoggen()).bin}`,
};

async function fetchArtefacts(names: string[]): Promise<number> {
  const unknown = names.filter((n) => !(n in fetchers));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown artefact ${unknown.join(', ')}: fetch knows ${Object.keys(fetchers).join(', ')}\n`,
    );
    return 2;
  }
  for (const name of names.length > 0 ? names : Object.keys(fetchers)) {
    process.stdout.write(`${await fetchers[name]!()}\n`);
  }
  return 0;
}

async function printStatus(names: string[]): Promise<number> {
  const rows = await stackStatus(names);
  for (const r of rows) {
    const state = r.answers ? 'answers' : r.running ? 'running, not answering' : 'stopped';
    process.stdout.write(
      `${r.name.padEnd(12)} ${r.address.padEnd(58)} ${state}${r.pid ? ` (pid ${r.pid})` : ''}\n`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
