/**
 * Start-up time of `siem serve --role all` (what `npm start` runs): from spawning the process to its
 * "started" line (every listener bound, the API listening) and to the first 200 of /health/ready.
 * Cold: a new data folder each run (the embedded TimescaleDB initialises its cluster and the
 * migrations run). Warm: the same folder again. The floor beside them is `siem --help` — a process
 * that loads the CLI and exits — so the role's own share can be read off.
 *
 *   node --conditions=source --import tsx load-tests/cli-startup.ts [runs]
 *
 * Every port is ephemeral (never the defaults); each role is stopped with SIGTERM before the next.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeArgsFor } from '@siem/core';
import { startRoleProcess } from '@siem/local-stack';
import { type BenchRow, writeBenchReport } from '@siem/observability';

/** An all role with every listener on an ephemeral loopback port (never the defaults a developer may use). */
function ephemeralAllRoleEnv(dataDir: string): Record<string, string> {
  const env: Record<string, string> = { SIEM_DATA_DIR: dataDir, SIEM_API__PORT: '0' };
  for (const adapter of ['SYSLOG_UDP', 'SYSLOG_TCP', 'WINDOWS_EVENTS']) {
    env[`SIEM_ADAPTERS__${adapter}__HOST`] = '127.0.0.1';
    env[`SIEM_ADAPTERS__${adapter}__PORT`] = '0';
  }
  return env;
}

const runs = Number(process.argv[2] ?? 3);
const cliMain = new URL('../apps/cli/src/main.ts', import.meta.url);

const env = (dataDir: string) => ({ ...ephemeralAllRoleEnv(dataDir), SIEM_LOG__FORMAT: 'json' });

interface Timing {
  startedMs: number;
  readyMs: number;
  databaseMs: number | null;
}

async function startOnce(dataDir: string): Promise<Timing> {
  const t0 = performance.now();
  const wall0 = Date.now();
  const proc = await startRoleProcess('all', env(dataDir), { startTimeoutMs: 300_000 });
  const startedMs = performance.now() - t0;
  let timing: Timing | null = null;
  try {
    const banner = await proc.waitForLog('banner', 10_000);
    const api = String(banner.api);
    for (;;) {
      const res = await fetch(`${api}/health/ready`).catch(() => null);
      if (res?.status === 200) break;
      await sleep(20);
    }
    const readyMs = performance.now() - t0;
    const db = proc.logs('embedded TimescaleDB listening')[0];
    const databaseMs = db === undefined ? null : Date.parse(String(db.time)) - wall0;
    timing = { startedMs, readyMs, databaseMs };
  } finally {
    const exit = await proc.stop('SIGTERM', 60_000);
    if (timing !== null && exit.code !== 0) timing = null;
  }
  if (timing === null) throw new Error('the role did not become ready, or did not exit with code 0');
  return timing;
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

function row(name: string, timings: Timing[]): BenchRow {
  const started = stats(timings.map((t) => t.startedMs));
  const ready = stats(timings.map((t) => t.readyMs));
  const db = timings.map((t) => t.databaseMs).filter((v): v is number => v !== null);
  return {
    case: name,
    runs: timings.length,
    started_median_ms: Math.round(started.median),
    ready_median_ms: Math.round(ready.median),
    ready_min_ms: Math.round(ready.min),
    ready_max_ms: Math.round(ready.max),
    embedded_db_listening_median_ms: db.length === 0 ? null : Math.round(stats(db).median),
  };
}

const loadBefore = loadavg()[0]!;
const floor: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgsFor(cliMain), '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`siem --help failed: ${r.stderr}`);
  floor.push(performance.now() - t0);
}

const cold: Timing[] = [];
const warm: Timing[] = [];
const warmDir = mkdtempSync(join(tmpdir(), 'siem-startup-warm-'));
try {
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'siem-startup-cold-'));
    try {
      cold.push(await startOnce(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    process.stdout.write(`cold ${i + 1}/${runs}: ready in ${Math.round(cold.at(-1)!.readyMs)} ms\n`);
  }
  await startOnce(warmDir); // initialises the folder; not counted
  for (let i = 0; i < runs; i++) {
    warm.push(await startOnce(warmDir));
    process.stdout.write(`warm ${i + 1}/${runs}: ready in ${Math.round(warm.at(-1)!.readyMs)} ms\n`);
  }
} finally {
  rmSync(warmDir, { recursive: true, force: true });
}

const floorStats = stats(floor);
writeBenchReport({
  name: 'cli-startup',
  description:
    'Time from spawning `siem serve --role all` (the CLI from source: node --conditions=source --import tsx ' +
    'apps/cli/src/main.ts, as `npm run siem` runs it) to its "started" log line and to the first 200 of ' +
    '/health/ready. cold: a new data folder per run (the embedded TimescaleDB creates its cluster, migrations ' +
    'run); warm: the same folder again. Default configuration, every port ephemeral, JSON logs. ' +
    `Command: node --conditions=source --import tsx load-tests/cli-startup.ts ${runs}`,
  rows: [
    {
      case: 'floor: siem --help (load the CLI, exit)',
      runs,
      started_median_ms: null,
      ready_median_ms: Math.round(floorStats.median),
      ready_min_ms: Math.round(floorStats.min),
      ready_max_ms: Math.round(floorStats.max),
      embedded_db_listening_median_ms: null,
    },
    row('cold (new data folder)', cold),
    row('warm (data folder initialised)', warm),
  ],
  notes: [
    'embedded_db_listening: from spawning to the "embedded TimescaleDB listening" line (log timestamps, ms resolution).',
    'Shared 2-core machine with other work running: absolute figures are noisy; compare the rows of this run ' +
      `(1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after).`,
    'The floor is what any siem command pays before doing anything (Node start, tsx, loading the modules).',
  ],
});
