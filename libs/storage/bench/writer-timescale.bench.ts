/**
 * Rows/s into the TimescaleDB engine of the embedded default (PGlite with TimescaleDB in a process of
 * its own, started by this one: what `npm start` runs), through the event writer:
 *
 * - binary COPY over the engine's bulk channel (the default), by batch size and batches in flight;
 * - INSERT … unnest over the wire server (the default before the channel; still the path to an engine
 *   this process did not start, since pglite-socket takes no COPY FROM STDIN), the peer in the same run;
 * - the limits beside them: the same rows as ready COPY text and binary COPY straight onto the bulk
 *   channel (no event encoding), and rows of the same shape made by the engine itself (INSERT … SELECT
 *   FROM generate_series: no client, no wire, no parsing).
 *
 * Each with the lookup indexes maintained on every insert (on_write, the embedded default before) and
 * built on closed chunks by the tier job (closed_chunks, the embedded default now), then the cost of that
 * later build. A fresh engine in a temporary folder, hypertable as migrations make it.
 *
 *   npm run bench -- storage/writer-timescale       (SIEM_BENCH_ROWS, default 300 000: the burst of issue 16)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedEvent } from '@siem/core';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { copyBinary } from '../src/copy-binary.js';
import { startEmbeddedTimescale } from '../src/embedded/embedded.js';
import { LOOKUP_INDEXES, type LookupIndexMode } from '../src/lookup-indexes.js';
import { migrate } from '../src/migrate.js';
import { createPool } from '../src/pool.js';
import { COLUMN_COUNT, prepareRow } from '../src/row-encoding.js';
import { sampleBatch } from '../src/sample-events.js';
import { copyText } from '../src/write-paths.js';
import { EventWriter } from '../src/writer.js';

const ROWS = Number(process.env.SIEM_BENCH_ROWS ?? 300_000);
/** CPU seconds a process has used (Linux: utime + stime of /proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const dir = mkdtempSync(join(tmpdir(), 'siem-bench-ts-'));
const engine = await startEmbeddedTimescale({ dataDir: join(dir, 'data') });
const pool = createPool({ url: engine.url, size: 3, idleTimeoutMs: 0 });
const rows: BenchRow[] = [];
try {
  await migrate(pool, { schema: 'siem', chunkInterval: '1 day' });
  const now = Date.now();
  const o = { seed: 0x75be, fromMs: now - 20 * 3_600_000, toMs: now, count: ROWS };
  const events: NormalizedEvent[] = sampleBatch(o, 0, ROWS);
  const reset = () => pool.query('truncate siem.events');
  const record = async (name: string, note: string, fn: () => Promise<void>) => {
    await reset();
    const engineCpu0 = cpuSeconds(engine.pid);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const engineCpu = cpuSeconds(engine.pid) - engineCpu0;
    const n = Number((await pool.query('select count(*) as n from siem.events')).rows[0].n);
    if (n !== ROWS) throw new Error(`${name}: ${n} rows stored, expected ${ROWS}`);
    rows.push({
      case: name,
      rows: ROWS,
      seconds: Number(s.toFixed(2)),
      rows_per_s: Math.round(ROWS / s),
      engine_cpu_s: Number(engineCpu.toFixed(2)),
      rows_per_engine_cpu_s: Math.round(ROWS / engineCpu),
      writer_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      note,
    });
    process.stdout.write(`${name}: ${Math.round(ROWS / s)} rows/s\n`);
  };

  /** Lookup indexes as the embedded default used to keep them (on every insert), or only on closed chunks. */
  const useMode = (mode: LookupIndexMode) =>
    migrate(pool, { schema: 'siem', chunkInterval: '1 day', lookupIndexes: mode });
  const engineAlone = async () => {
    await pool.query(
      `insert into siem.events
       select now() - (i * interval '700 milliseconds'), now(), 'tenant-' || (i % 3), gen_random_uuid(), 'syslog',
              'host-' || (i % 50), ('192.168.1.' || (i % 200))::inet, 'sshd', 6, 'authentication', 'login', 'success',
              'alice', ('10.0.' || (i % 250) || '.' || (i % 200))::inet, 1024 + i % 60000, '10.0.0.1', 22, 'sshd',
              1000 + i % 5000, case when i % 3 = 0 then 'E4624' end,
              'sshd[' || i || ']: login for alice from 10.0.0.' || (i % 200) || ' port ' || (1024 + i % 60000) || ' ssh2 session=' || i,
              jsonb_build_object('facility', 'auth', 'seq', i, 'tags', jsonb_build_array('sample', 'sshd')),
              '<38>1 2026-01-01T00:00:00Z host-' || (i % 50) || ' sshd ' || i || ' - - sshd[' || i || ']: login for alice from 10.0.0.' || (i % 200) || ' port 22 ssh2',
              3002
         from generate_series(1, $1) i`,
      [ROWS],
    );
  };
  const bulk = engine.bulk;
  if (bulk === null) throw new Error('the embedded engine offered no bulk channel');
  const prepared = events.map((e) => {
    const values = new Array<string | null>(COLUMN_COUNT);
    prepareRow(e, values, {});
    return values;
  });
  const ready = { text: [...copyText(prepared, 1 << 20)], binary: [...copyBinary(prepared, 1 << 20)] };
  /**
   * The events through an EventWriter, `inFlight` batches at a time: the all role's pump keeps
   * normalizer.max_in_flight_batches (2) in flight, so the next batch is encoded while the engine copies.
   */
  const writeAll = async (batch: number, viaBulk: boolean, inFlight: number) => {
    const w = new EventWriter({ pool, schema: 'siem', batchRows: batch, ...(viaBulk ? {} : { bulk: null }) });
    await w.connect();
    const label = `${w.method}, ${w.transport}`;
    return {
      label,
      run: async () => {
        let next = 0;
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (next < ROWS) {
              const i = next;
              next += batch;
              await w.writeBatch(events.slice(i, i + batch));
            }
          }),
        );
        await w.close();
      },
    };
  };
  const BEFORE = 'before: writer (insert, wire), 10000-row batches, 2 in flight, lookup indexes on write';
  for (const mode of ['on_write', 'closed_chunks'] as const) {
    await useMode(mode);
    const tag = mode === 'on_write' ? 'lookup indexes on write' : 'lookup indexes on closed chunks';
    await record(
      `engine alone: INSERT … SELECT FROM generate_series, ${tag}`,
      'rows of the same shape made inside the engine',
      engineAlone,
    );
    for (const format of ['text', 'binary'] as const) {
      await record(
        `limit: ready COPY ${format} straight onto the bulk channel, ${tag}`,
        `${ready[format].length} requests of ~1 MiB sent back to back, no event encoding`,
        async () => {
          await Promise.all(ready[format].map((body) => bulk.copyEvents('siem', body, format).stored));
        },
      );
    }
    const cases: Array<[number, number]> =
      mode === 'on_write'
        ? [[10_000, 2]]
        : [
            [1_000, 2],
            [10_000, 1],
            [10_000, 2],
          ];
    if (mode === 'on_write') {
      const w = await writeAll(10_000, false, 2);
      await record(
        BEFORE,
        'NormalizedEvent objects → unnest arrays → wire server (the embedded default before the bulk channel)',
        w.run,
      );
    }
    for (const [batch, inFlight] of cases) {
      const w = await writeAll(batch, true, inFlight);
      await record(
        `writer (${w.label}), ${batch}-row batches, ${inFlight} in flight, ${tag}`,
        mode === 'on_write'
          ? 'NormalizedEvent objects → binary COPY → bulk channel, indexes as before'
          : 'NormalizedEvent objects → binary COPY → bulk channel (the embedded default now)',
        w.run,
      );
    }
  }
  // The cost moved out of the burst: the tier job builds the lookup indexes of each chunk once it is
  // closed. Build them on the chunks the last burst filled, as that job will (one index per statement).
  {
    const chunks = (
      await pool.query<{ name: string }>(
        `select format('%I.%I', chunk_schema, chunk_name) as name from timescaledb_information.chunks
          where hypertable_schema = 'siem' and hypertable_name = 'events'`,
      )
    ).rows;
    const engineCpu0 = cpuSeconds(engine.pid);
    const t0 = process.hrtime.bigint();
    for (const c of chunks) {
      for (const i of LOOKUP_INDEXES)
        await pool.query(`create index on ${c.name} (${i.keys}) where ${i.where}`);
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const last = rows[rows.length - 1]!;
    rows.push({
      case: 'later, by the tier job: the 6 lookup indexes built on the chunks of that burst',
      rows: ROWS,
      seconds: Number(s.toFixed(2)),
      rows_per_s: Math.round(ROWS / s),
      engine_cpu_s: Number((cpuSeconds(engine.pid) - engineCpu0).toFixed(2)),
      note: `${chunks.length} chunks × ${LOOKUP_INDEXES.length} CREATE INDEX; with the burst above: ${Math.round(
        ROWS / ((last.seconds as number) + s),
      ).toLocaleString('en-US')} rows/s over both`,
    });
  }
  const before = rows.find((r) => r.case === BEFORE)!.rows_per_s as number;
  for (const r of rows) r.vs_before = Number(((r.rows_per_s as number) / before).toFixed(2));
  writeBenchReport({
    name: 'storage-writer-timescale',
    description:
      `${ROWS.toLocaleString('en-US')} sample events (a burst, issue 16) into the embedded TimescaleDB engine (PGlite ` +
      'build in its own process) through the event writer, with the lookup indexes maintained on every insert ' +
      '(before) and built on closed chunks by the tier job (storage.lookup_indexes: closed_chunks, the embedded ' +
      'default now): binary COPY over the bulk channel, the old INSERT … unnest over the wire server, ready COPY ' +
      'text and binary on the channel, and the same number of rows generated inside the engine. vs_before: against ' +
      'the old default (INSERT over the wire, indexes on write). Command: npm run bench -- storage/writer-timescale',
    rows,
    notes: [
      'The engine is WebAssembly on one thread: its own insert rate is the ceiling for the embedded default. Six ' +
        'lookup indexes maintained row by row were most of its cost; closed_chunks leaves the primary key only on the ' +
        'open chunk, and the tier job builds the six once per closed chunk, sorted (the last row).',
      'Searches of the open chunk by host, user, address or event code then use tenant+time and filter.',
      'Binary COPY: the writer turns times, ids, addresses and numbers into their binary form, so the engine ' +
        'parses less (compare the two limit rows).',
      'The writer encodes the next request while the engine copies the previous one (two processes, two cores). ' +
        '2 in flight: as the all role delivers (normalizer.max_in_flight_batches); with 1, the engine waits while ' +
        'the writer prepares each next batch.',
      'The machine (2 cores) is shared with other work: wall-clock figures are noisy; compare cases of the same run. ' +
        'engine_cpu_s (CPU time of the engine process) and rows_per_engine_cpu_s depend far less on the other work.',
      'writer_cpu_s is the CPU time of this process (event encoding, the pg client or the bulk channel).',
    ],
  });
} finally {
  await pool.end();
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
}
