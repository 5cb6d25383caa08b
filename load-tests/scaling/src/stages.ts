/**
 * The per-core figure of every pipeline stage, each read from the committed result of its own
 * benchmark in bench/results (so the table follows the latest measurement), with that result's commit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StageSource {
  stage: string;
  /** bench/results/<file>.json */
  file: string;
  /** The row whose `key` column equals `label` (and every `also` column its value). */
  key: string;
  label: string;
  also?: Record<string, string>;
  field: string;
  /** `rate`: the field is events/s on one core; `cpu_per_million`: CPU s per million events. */
  kind: 'rate' | 'cpu_per_million';
  note: string;
}

export const STAGES: readonly StageSource[] = [
  {
    stage: 'intake parse (syslog header, listener hot path)',
    file: 'syslog-parse',
    key: 'case',
    label: 'parseSyslogHeaderInto (listener hot path: one reused result, structured data as JSON text)',
    also: { corpus: 'mixed' },
    field: 'events_per_s',
    kind: 'rate',
    note: 'mixed RFC 3164/5424 corpus, one core',
  },
  {
    stage: 'encode (raw event, RFC 5424 with SD)',
    file: 'core-encode',
    key: 'case',
    label: 'rfc5424 with SD',
    field: 'events_per_s',
    kind: 'rate',
    note: 'RawEventEncoder, one core',
  },
  {
    stage: 'produce (KafkaProducerPool, defaults)',
    file: 'kafka-producer',
    key: 'producer',
    label: 'KafkaProducerPool: pool 1, linger 10 ms, batch 1 MiB (the default)',
    field: 'cpu_s_per_million',
    kind: 'cpu_per_million',
    note: 'events/s per core = 10^6 / CPU s per million events of the producing process',
  },
  {
    stage: 'consume (BatchConsumer, handler does nothing)',
    file: 'normalizer-e2e',
    key: 'case',
    label: 'Kafka consumer alone (handler does nothing)',
    field: 'rows_per_s',
    kind: 'rate',
    note: 'records/s of one consumer process',
  },
  {
    stage: 'normalize (decode + normalize, mixed corpus)',
    file: 'normalizer-e2e',
    key: 'case',
    label: 'decode + normalize alone (no I/O)',
    field: 'rows_per_s',
    kind: 'rate',
    note: 'decodeRawEvent + normalizeAll, one core',
  },
  {
    stage: 'write (EventWriter COPY into PostgreSQL, 2 batches at a time)',
    file: 'storage-writer-postgres',
    key: 'case',
    label: 'writer, COPY, 2 batches at a time',
    field: 'rows_per_s',
    kind: 'rate',
    note: 'rows/s of one writer into one PostgreSQL on this machine (client and server together)',
  },
];

export interface StageRow {
  stage: string;
  events_per_s_per_core: number;
  source: string;
  commit: string;
  measured_at: string;
  note: string;
}

interface ResultFile {
  rows: Array<Record<string, unknown>>;
  commit: string | null;
  measured_at: string;
}

/** The stage table from results already read (`results[file]`); a missing file or row says which. */
export function stageRows(
  stages: readonly StageSource[],
  results: (file: string) => ResultFile | null,
): StageRow[] {
  return stages.map((s) => {
    const r = results(s.file);
    if (r === null) throw new Error(`bench/results/${s.file}.json is missing: run its benchmark first`);
    const row = r.rows.find(
      (x) => x[s.key] === s.label && Object.entries(s.also ?? {}).every(([k, v]) => x[k] === v),
    );
    const value = row?.[s.field];
    if (typeof value !== 'number' || !(value > 0))
      throw new Error(`bench/results/${s.file}.json has no row "${s.label}" with a positive ${s.field}`);
    return {
      stage: s.stage,
      events_per_s_per_core: Math.round(s.kind === 'rate' ? value : 1e6 / value),
      source: `${s.file}.json "${s.label}" ${s.field}${s.kind === 'rate' ? '' : ` = ${value}`}`,
      commit: r.commit ?? 'unknown',
      measured_at: r.measured_at.slice(0, 10),
      note: s.note,
    };
  });
}

/** Reads bench/results/<file>.json from `dir` (null when absent). */
export function resultsIn(dir: string): (file: string) => ResultFile | null {
  return (file) => {
    const path = join(dir, `${file}.json`);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ResultFile) : null;
  };
}

export function stagesMarkdown(rows: readonly StageRow[]): string {
  return [
    '| stage | events/s per core | from | commit | measured | note |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.stage} | ${r.events_per_s_per_core.toLocaleString('en-US')} | ${r.source} | ${r.commit} | ${r.measured_at} | ${r.note} |`,
    ),
  ].join('\n');
}
