import { defaultPorts, type Scenario, scenarios } from './scenarios.js';

export interface LoadOptions {
  scenarioName: string;
  scenario: Scenario;
  users: number;
  /** Events/s offered by all senders together; 0: as fast as they can. */
  rate: number;
  durationSeconds: number;
  target: string;
  /** Port of the scenario's intake (the API port for HTTP scenarios). */
  port: number;
  apiPort: number;
  workers: number;
  batch: number;
  tailClients: number;
  apiKey: string | null;
  /** How long the far-side count may go without progress before the wait ends. */
  settleSeconds: number;
  outDir: string;
  payloadFile: string | null;
  /** Check a finished run instead of running one: Locust's JSON statistics (a cluster run's master). */
  statsFile: string | null;
  /** The run marker of that run (--siem-run-id of its master). */
  runId: string | null;
  /** Count the far side (off: measuring the senders alone against a sink that stores nothing). */
  farSide: boolean;
}

export class UsageError extends Error {}

export const usage = `Usage: npm run load -- <scenario> [options]

Scenarios:
${Object.entries(scenarios)
  .map(([name, s]) => `  ${name.padEnd(18)}${s.description}`)
  .join('\n')}

Options:
  --users N          senders (Locust users; default per scenario)
  --rate R           events/s offered by all senders together; 0 = as fast as they can
  --duration D       how long to send: 30s, 2m (default 30s)
  --target HOST      gateway host (default 127.0.0.1)
  --port N           intake port (default: the gateway's default for the scenario)
  --api-port N       API port: far-side count, cloud intake, query, tail (default 8080)
  --workers N        Locust worker processes beside the master (default 1)
  --batch N          events per request: write, Lumberjack window, HTTP batch
  --tail-clients N   live-tail clients of the tail scenario (default 2)
  --api-key KEY      bearer token (or SIEM_LOAD_API_KEY); none: keyless loopback
  --settle D         give up counting the far side after this long without progress (default 60s)
  --payloads FILE    payload file (one frame per line) instead of generating one
  --out DIR          results folder (default bench/results/load)
  --stats FILE       check a finished run (e.g. on Kubernetes) instead: its master's JSON statistics;
                     with --run-id, and --duration, --batch, --users as that run had them
  --run-id ID        the run marker of that run (its master's --siem-run-id)
  --no-far-side      do not count stored events (to measure the senders alone against a sink)

Examples:
  npm run load -- syslog-tcp
  npm run load -- syslog-tcp --rate 20000 --duration 20s --port 15514 --api-port 18080
  npm run load -- lumberjack --users 8 --rate 0 --target gw.example.internal
  npm run load -- syslog-tcp --stats master.json --run-id k8s1 --duration 300s --batch 1000 --users 2000 --rate 10000000`;

/** `30s`, `2m`, `1h`, or plain seconds → seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text);
  if (m === null) throw new UsageError(`${flag} must be like 30s, 2m or 1h, not ${JSON.stringify(text)}`);
  const n = Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1);
  if (n <= 0) throw new UsageError(`${flag} must be more than 0`);
  return n;
}

function intArg(text: string | undefined, flag: string, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text))
    throw new UsageError(`${flag} needs a whole number, got ${JSON.stringify(text ?? '')}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

const valued = new Set([
  '--users',
  '--rate',
  '--duration',
  '--target',
  '--port',
  '--api-port',
  '--workers',
  '--batch',
  '--tail-clients',
  '--api-key',
  '--settle',
  '--payloads',
  '--out',
  '--stats',
  '--run-id',
]);

function runIdOf(given: Map<string, string>): string | null {
  const id = given.get('--run-id');
  if (given.has('--stats') !== (id !== undefined)) throw new UsageError('--stats and --run-id go together');
  if (id !== undefined && !/^[a-z0-9]{1,24}$/.test(id))
    throw new UsageError(`--run-id must be 1-24 lower-case letters and digits, got ${JSON.stringify(id)}`);
  return id ?? null;
}

export function parseLoadArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): LoadOptions {
  const given = new Map<string, string>();
  const positional: string[] = [];
  let farSide = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--no-far-side') farSide = false;
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const flag = eq < 0 ? a : a.slice(0, eq);
      if (!valued.has(flag)) throw new UsageError(`unknown option ${flag} (see --help)`);
      const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      given.set(flag, value);
    } else positional.push(a);
  }
  if (positional.length !== 1)
    throw new UsageError(
      positional.length === 0
        ? 'name a scenario (see --help)'
        : `one scenario only, got ${positional.join(' ')}`,
    );
  const scenarioName = positional[0]!;
  const scenario = scenarios[scenarioName];
  if (scenario === undefined)
    throw new UsageError(`unknown scenario ${scenarioName}: one of ${Object.keys(scenarios).join(', ')}`);
  const rateText = given.get('--rate');
  let rate = scenario.defaults.rate;
  if (rateText !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(rateText))
      throw new UsageError(`--rate needs events/s (0: unlimited), got ${rateText}`);
    rate = Number(rateText);
  }
  const apiPort = given.has('--api-port')
    ? intArg(given.get('--api-port'), '--api-port', 1, 65535)
    : defaultPorts.api;
  return {
    scenarioName,
    scenario,
    users: given.has('--users')
      ? intArg(given.get('--users'), '--users', 1, 100_000)
      : scenario.defaults.users,
    rate,
    durationSeconds: parseDuration(given.get('--duration') ?? '30s', '--duration'),
    target: given.get('--target') ?? '127.0.0.1',
    port: given.has('--port')
      ? intArg(given.get('--port'), '--port', 1, 65535)
      : scenario.intake === 'api'
        ? apiPort
        : defaultPorts[scenario.intake],
    apiPort,
    workers: given.has('--workers') ? intArg(given.get('--workers'), '--workers', 1, 1024) : 1,
    batch: given.has('--batch')
      ? intArg(given.get('--batch'), '--batch', 1, 100_000)
      : scenario.defaults.batch,
    tailClients: given.has('--tail-clients')
      ? intArg(given.get('--tail-clients'), '--tail-clients', 1, 100)
      : 2,
    apiKey: given.get('--api-key') ?? env.SIEM_LOAD_API_KEY ?? null,
    settleSeconds: parseDuration(given.get('--settle') ?? '60s', '--settle'),
    outDir: given.get('--out') ?? 'bench/results/load',
    payloadFile: given.get('--payloads') ?? null,
    statsFile: given.get('--stats') ?? null,
    runId: runIdOf(given),
    farSide,
  };
}
