/**
 * `npm run load -- <scenario> [options]`: one Locust scenario against a running gateway — headless
 * Locust master and worker processes on this machine, payloads from the project's generator, the
 * delivered count checked on the far side, thresholds evaluated, a JSON summary and Locust's HTML
 * report written under bench/results/load/. Every process it starts is stopped before it exits.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, stackPaths } from '@siem/local-stack';
import { type LoadOptions, parseLoadArgs, UsageError, usage } from './args.js';
import { histogramUrl, markerNames, storedCount, waitForStored } from './far-side.js';
import { makePayloadFile, type PayloadFile } from './payloads.js';
import { evaluate, type LoadSummary, type LocustEntry, summarize, type ThresholdResult } from './summary.js';
import { ensureLocust } from './venv.js';

const root = resolve(import.meta.dirname, '../../..');
const here = resolve(import.meta.dirname, '..');
const MARKERS = 16;
/**
 * Locust runs this much longer than the senders send: their set-up (reading and marking the payloads,
 * building the batches) comes before their first send, and every worker must report its last requests
 * (Locust's worker report interval is 3 s) before the master quits.
 */
const REPORT_GRACE_SECONDS = 20;

const log = (line: string) => process.stderr.write(`load: ${line}\n`);

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok(child.exitCode);
    const timer = setTimeout(() => ok(null), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      ok(code);
    });
  });
}

async function stop(children: readonly ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  for (const c of children) if ((await exited(c, 10_000)) === null && c.exitCode === null) c.kill('SIGKILL');
}

function locustArgs(o: LoadOptions, runId: string, payloads: PayloadFile | null): string[] {
  return [
    `--siem-run-id=${runId}`,
    `--siem-markers=${MARKERS}`,
    `--siem-port=${o.port}`,
    `--siem-batch=${o.batch}`,
    `--siem-rate=${o.rate}`,
    `--siem-senders=${o.users}`,
    `--siem-send-seconds=${o.durationSeconds}`,
    `--siem-tail-clients=${o.tailClients}`,
    ...(payloads === null ? [] : [`--siem-payloads=${payloads.file}`]),
    ...(o.apiKey === null ? [] : [`--siem-api-key=${o.apiKey}`]),
  ];
}

async function runLocust(
  o: LoadOptions,
  locust: string,
  runId: string,
  payloads: PayloadFile | null,
  work: string,
) {
  const locustfile = join(here, 'locustfile.py');
  const masterPort = await freePort();
  const outDir = resolve(root, o.outDir);
  mkdirSync(outDir, { recursive: true });
  const tail = o.scenario.users.includes('TailUser') ? o.tailClients : 0;
  const logFile = (name: string) => openSync(join(work, `${name}.log`), 'w');
  const children: ChildProcess[] = [];
  const onSignal = () => void stop(children).then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const master = spawn(
      locust,
      [
        '-f',
        locustfile,
        '--headless',
        '--master',
        '--master-bind-host=127.0.0.1',
        `--master-bind-port=${masterPort}`,
        `--expect-workers=${o.workers}`,
        '--expect-workers-max-wait=60',
        `-u`,
        String(o.users + tail),
        '-r',
        String(o.users + tail),
        // senders stop after the duration by themselves; the grace lets every worker report them
        // (tail clients keep reading meanwhile: events stored late still reach them)
        '-t',
        `${o.durationSeconds + REPORT_GRACE_SECONDS + (tail > 0 ? Math.min(o.settleSeconds, 30) : 0)}s`,
        '--stop-timeout=5',
        '-H',
        `http://${o.target.includes(':') ? `[${o.target}]` : o.target}:${o.apiPort}`,
        `--json-file=${join(work, 'stats')}`,
        `--html=${join(outDir, `${o.scenarioName}.html`)}`,
        `--csv=${join(work, 'stats')}`,
        '--only-summary',
        ...locustArgs(o, runId, payloads),
        ...o.scenario.users,
      ],
      { stdio: ['ignore', logFile('master'), logFile('master.err')] },
    );
    children.push(master);
    for (let i = 0; i < o.workers; i++)
      children.push(
        spawn(
          locust,
          ['-f', locustfile, '--worker', '--master-host=127.0.0.1', `--master-port=${masterPort}`],
          {
            stdio: ['ignore', logFile(`worker-${i}`), logFile(`worker-${i}.err`)],
          },
        ),
      );
    const code = await exited(master, (o.durationSeconds + 120) * 1000);
    if (code === null) log('the Locust master did not finish in time: stopping it');
    return code;
  } finally {
    await stop(children);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function readStats(work: string): LocustEntry[] {
  try {
    return JSON.parse(readFileSync(join(work, 'stats.json'), 'utf8')) as LocustEntry[];
  } catch (e) {
    let err = '';
    try {
      err = readFileSync(join(work, 'master.err.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {}
    throw new Error(`no Locust statistics (${(e as Error).message}); the master's last log lines:\n${err}`);
  }
}

function failureLines(work: string): string[] {
  try {
    return readFileSync(join(work, 'stats_failures.csv'), 'utf8').trim().split('\n').slice(1, 6);
  } catch {
    return [];
  }
}

function printReport(s: LoadSummary, results: readonly ThresholdResult[]): void {
  const e = s.events;
  const lines = [
    `${s.scenario}: ${s.users} users, ${s.workers} worker(s), ${s.durationSeconds} s, batch ${s.batch}`,
    `events offered ${e.offered} (${e.offeredPerSecond}/s), acknowledged ${e.acknowledged} (${e.acknowledgedPerSecond}/s), stored ${e.stored ?? '-'}`,
    `requests ${s.requests}, failures ${s.failures}; latency ms p50 ${s.latencyMs.p50} p95 ${s.latencyMs.p95} p99 ${s.latencyMs.p99} max ${s.latencyMs.max}`,
    ...(s.tail === null
      ? []
      : [`tail: ${s.tail.clients} clients received ${s.tail.events}, dropped ${s.tail.dropped}`]),
    ...results.map((r) => `${r.pass ? 'PASS' : 'FAIL'}  ${r.name} ${r.value ?? '-'} (${r.limit})`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  let o: LoadOptions;
  try {
    o = parseLoadArgs(argv, process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`load: ${e.message}\n`);
    return 2;
  }
  const runId = o.runId ?? Date.now().toString(36);
  const work = mkdtempSync(join(tmpdir(), 'siem-load-'));
  try {
    const started = new Date();
    let payloads: PayloadFile | null = null;
    if (o.statsFile !== null) {
      log(`checking run ${runId} from ${o.statsFile}`);
      copyFileSync(resolve(o.statsFile), join(work, 'stats.json'));
    } else {
      const locust = ensureLocust(stackPaths.cacheDir, join(here, 'requirements.txt'), log);
      const kind = o.scenario.payload;
      payloads =
        kind === null
          ? null
          : o.payloadFile !== null
            ? { file: resolve(o.payloadFile), source: o.payloadFile }
            : makePayloadFile(root, kind, join(stackPaths.cacheDir, 'load', `payloads-${kind}.txt`), 20_000);
      if (payloads !== null) log(`payloads: ${payloads.source}`);
      log(`run ${runId}: ${o.scenarioName} for ${o.durationSeconds} s against ${o.target}:${o.port}`);
      await runLocust(o, locust, runId, payloads, work);
    }
    const entries = readStats(work);
    const acked = summarize(entries, o, null).events;
    let stored: number | null = null;
    if (o.scenario.marker !== null && o.farSide) {
      const apiBase = `http://${o.target.includes(':') ? `[${o.target}]` : o.target}:${o.apiPort}`;
      const url = histogramUrl(apiBase, o.scenario.marker, markerNames(runId, MARKERS), Date.now());
      const expected = o.scenario.intake === 'syslog_udp' ? acked.offered : acked.acknowledged;
      log(
        `waiting for ${expected} events on the far side (until ${o.settleSeconds} s pass without progress)`,
      );
      stored = await waitForStored(() => storedCount(url, o.apiKey), expected, o.settleSeconds * 1000);
    }
    const summary = summarize(entries, o, stored);
    const results = evaluate(summary, o);
    const pass = results.every((r) => r.pass);
    printReport(summary, results);
    const failures = failureLines(work);
    if (failures.length > 0)
      process.stdout.write(`failures (first lines of Locust's list):\n${failures.join('\n')}\n`);
    const outDir = resolve(root, o.outDir);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, `${o.scenarioName}.json`),
      `${JSON.stringify(
        {
          pass,
          command: `npm run load -- ${argv.join(' ')}`,
          commit: gitCommit(),
          date: started.toISOString(),
          machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
          locust: readFileSync(join(here, 'requirements.txt'), 'utf8').match(/^locust==(\S+)/m)?.[1] ?? null,
          runId,
          payloads: payloads?.source ?? null,
          summary,
          thresholds: results,
          failures,
        },
        null,
        2,
      )}\n`,
    );
    log(`wrote ${o.outDir}/${o.scenarioName}.json${o.statsFile === null ? ' and .html' : ''}`);
    return pass ? 0 : 1;
  } finally {
    if (process.env.SIEM_LOAD_KEEP === undefined) rmSync(work, { recursive: true, force: true });
    else log(`Locust files kept in ${work}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`load: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
