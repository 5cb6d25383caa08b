import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseCommandArgs, parseCount, runCommand, UsageError } from './cli-support.js';
import type { Command } from './command.js';
import { type Figure, type Measured, parseRetention, size } from './sizing-model.js';

const usage = `Usage: siem sizing --eps N [--event-bytes 500] [--retention hot=7d,warm=30d,cold=90d] [--replication 3] [--json]

Pods, cores, Kafka brokers, partitions, broker disk and network, normalizer pods, database shards and
disk per tier for a sustained event rate, from the measured figures in bench/results/ (every line says
which measurement it came from) and the stated assumptions. See docs/sizing.md.

Options:
  --eps N                events per second to plan for
  --event-bytes N        mean raw event size in bytes (default 500)
  --retention SPEC       tier boundaries as ages (default hot=7d,warm=30d,cold=90d)
  --replication N        Kafka replicas per partition (default 3)
  --kafka-retention-hours N  hours Kafka keeps siem.raw (default 72, the configuration's default)
  --results DIR          benchmark results folder (default: bench/results of this checkout)
  --json                 the lines as JSON

Examples:
  siem sizing --eps 10000000
  siem sizing --eps 200000 --event-bytes 800 --retention hot=3d,warm=14d,cold=30d --replication 2`;

function findResults(): string | null {
  let dir = import.meta.dirname;
  for (;;) {
    if (existsSync(join(dir, 'bench', 'results'))) return join(dir, 'bench', 'results');
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

type Row = Record<string, unknown>;

/** Reads the measured inputs, each from one named row of one benchmark result. */
export function loadMeasured(dir: string): Measured {
  const cache = new Map<string, { rows: Row[]; commit: string; measured_at: string }>();
  const file = (name: string) => {
    if (!cache.has(name)) {
      const path = join(dir, `${name}.json`);
      if (!existsSync(path))
        throw new UsageError(`${path} is missing: run its benchmark (npm run bench) first`);
      cache.set(name, JSON.parse(readFileSync(path, 'utf8')));
    }
    return cache.get(name)!;
  };
  const pick = (name: string, key: string, label: string, field: string, unit: string): Figure => {
    const f = file(name);
    const r = f.rows.find((x) => x[key] === label);
    const value = r?.[field];
    if (typeof value !== 'number')
      throw new UsageError(`bench/results/${name}.json has no row ${JSON.stringify(label)} with ${field}`);
    return {
      value,
      unit,
      from: `bench/results/${name}.json "${label}" ${field} (commit ${f.commit}, ${f.measured_at.slice(0, 10)})`,
    };
  };
  const gateway = (field: string, unit: string) =>
    pick('gateway-comparison', 'contender', 'siem gateway (one process)', field, unit);
  const tier = (label: string) =>
    pick('storage-tier-sizes', 'tier', label, 'bytes_per_million_events', 'bytes per million events');
  const perEvent = (f: Figure): Figure => ({ ...f, value: f.value / 1e6, unit: 'bytes per event' });
  // the corpus mean of the gateway comparison: its description says it, its rows do not
  const description = String((file('gateway-comparison') as unknown as { description: string }).description);
  const mean = /mean (\d+) B/.exec(description);
  if (mean === null)
    throw new UsageError('bench/results/gateway-comparison.json no longer states its mean message size');
  return {
    gatewayRate: gateway('events_per_s', 'events/s'),
    gatewayCpuPerMillion: gateway('cpu_s_per_million', 'CPU s per million events'),
    brokerCpuPerMillion: gateway('broker_cpu_s_per_million', 'CPU s per million events'),
    recordBytes: gateway('record_bytes', 'bytes'),
    messageBytes: {
      value: Number(mean[1]),
      unit: 'bytes',
      from: `bench/results/gateway-comparison.json description "mean ${mean[1]} B"`,
    },
    zstdRatio: pick(
      'buffer-spill',
      'case',
      'buffer spill: offer → zstd 1 → segment, until written',
      'compression_ratio',
      '',
    ),
    consumeRate: pick(
      'normalizer-e2e',
      'case',
      'Kafka consumer alone (handler does nothing)',
      'rows_per_s',
      'records/s',
    ),
    normalizeRate: pick(
      'normalizer-e2e',
      'case',
      'decode + normalize alone (no I/O)',
      'rows_per_s',
      'events/s',
    ),
    shardWriteRate: pick(
      'storage-writer-postgres',
      'case',
      'writer, COPY, 2 batches at a time',
      'rows_per_s',
      'rows/s',
    ),
    hotBytes: perEvent(tier('hot (as loaded: uncompressed, all indexes)')),
    warmBytes: perEvent(tier('warm (after the tier job)')),
    coldBytes: perEvent(tier('cold (after the tier job)')),
    archiveBytes: perEvent(tier('frozen: archive (zstd JSON lines)')),
  };
}

export const sizingCommand: Command = {
  name: 'sizing',
  usage,
  run: (argv) =>
    runCommand('sizing', async () => {
      const { values } = parseCommandArgs(argv, {
        eps: { type: 'string' },
        'event-bytes': { type: 'string', default: '500' },
        retention: { type: 'string', default: 'hot=7d,warm=30d,cold=90d' },
        replication: { type: 'string', default: '3' },
        'kafka-retention-hours': { type: 'string', default: '72' },
        results: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      });
      if (values.help) {
        process.stdout.write(`${usage}\n`);
        return 0;
      }
      if (values.eps === undefined) throw new UsageError('--eps is required');
      const retention = parseRetention(values.retention);
      if (typeof retention === 'string') throw new UsageError(`--retention: ${retention}`);
      const replication = parseCount(values.replication, 'replication', 10);
      const results = values.results === undefined ? findResults() : resolve(values.results);
      if (results === null)
        throw new UsageError('no bench/results folder above this program: pass --results DIR');
      const input = {
        eps: parseCount(values.eps, 'eps'),
        eventBytes: parseCount(values['event-bytes'], 'event-bytes', 1_048_576),
        retention,
        replication,
        kafkaRetentionHours: parseCount(values['kafka-retention-hours'], 'kafka-retention-hours', 100_000),
      };
      const rows = size(input, loadMeasured(results));
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ input, rows }, null, 2)}\n`);
        return 0;
      }
      const w = Math.max(...rows.map((r) => r.what.length));
      const v = Math.max(...rows.map((r) => `${r.value.toLocaleString('en')} ${r.unit}`.length));
      for (const r of rows)
        process.stdout.write(
          `${r.what.padEnd(w)}  ${`${r.value.toLocaleString('en')} ${r.unit}`.padStart(v)}  ${r.from}\n`,
        );
      return 0;
    }),
};
