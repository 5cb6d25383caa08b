/**
 * Normalize throughput per source type, on one core (this process, one event loop): the committed
 * vendor fixtures replayed round-robin through `normalizeAll`. Next to it, the floor for the same
 * payloads — decoding the bytes and `JSON.parse` alone for the JSON sources, `toString` for syslog —
 * so the cost of the mapping itself is visible. Run with `npm run bench -- normalize`.
 */
import type { RawEvent, SourceType } from '@siem/core';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { normalizeAll } from '../src/index.js';
import { fixture, fixtureFiles, rawEvent, syslogCase, syslogCaseNames } from '../src/test-fixtures.js';

const WARMUP_MS = 300;
const MEASURE_MS = Number(process.env.BENCH_MS ?? 1500);

function corpus(st: SourceType): RawEvent[] {
  if (st === 'syslog') return syslogCaseNames().map(syslogCase);
  const files = fixtureFiles(st).filter((f) => f !== 'log-file-batch.json');
  return files.map((f) => rawEvent(st, fixture(`${st}/${f}`)));
}

interface Measured {
  ops: number;
  rows: number;
  ms: number;
}

function measure(events: RawEvent[], work: (ev: RawEvent) => number, ms: number): Measured {
  let ops = 0;
  let rows = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    // check the clock every 256 events, not every event
    for (let i = 0; i < 256; i++) {
      rows += work(events[ops % events.length]!);
      ops++;
    }
    now = performance.now();
  }
  return { ops, rows, ms: now - start };
}

const normalizeWork = (ev: RawEvent) => normalizeAll(ev).length;
const floorWork = (ev: RawEvent) => {
  const text = ev.payload.toString('utf8');
  if (ev.sourceType === 'syslog') return text.length > 0 ? 1 : 0;
  const parsed = JSON.parse(text) as unknown;
  return parsed === null ? 0 : 1;
};

const rows: BenchRow[] = [];
const types: SourceType[] = ['syslog', 'windows', 'cloudtrail', 'azure_activity', 'gcp_logging'];
for (const st of types) {
  const events = corpus(st);
  const bytes = events.reduce((n, e) => n + e.payload.length, 0) / events.length;
  measure(events, normalizeWork, WARMUP_MS);
  const m = measure(events, normalizeWork, MEASURE_MS);
  measure(events, floorWork, WARMUP_MS);
  const f = measure(events, floorWork, MEASURE_MS);
  const perS = (m.rows / m.ms) * 1000;
  const floorPerS = (f.ops / f.ms) * 1000;
  rows.push({
    source_type: st,
    corpus_payloads: events.length,
    avg_payload_bytes: Math.round(bytes),
    events_per_s_per_core: Math.round(perS),
    us_per_event: Number(((m.ms * 1000) / m.rows).toFixed(2)),
    floor_decode_parse_per_s: Math.round(floorPerS),
    normalize_vs_floor: Number((perS / floorPerS).toFixed(3)),
  });
}

// A CloudTrail log file of 100 records (the documented records, repeated): the batch path.
{
  const doc = JSON.parse(fixture('cloudtrail/log-file-batch.json').toString('utf8')) as {
    Records: unknown[];
  };
  const records = Array.from({ length: 100 }, (_, i) => doc.Records[i % doc.Records.length]);
  const batch = [rawEvent('cloudtrail', JSON.stringify({ Records: records }))];
  measure(batch, normalizeWork, WARMUP_MS);
  const m = measure(batch, normalizeWork, MEASURE_MS);
  const f = measure(batch, floorWork, MEASURE_MS);
  const perS = (m.rows / m.ms) * 1000;
  const floorRowsPerS = ((f.ops * 100) / f.ms) * 1000;
  rows.push({
    source_type: 'cloudtrail (Records ×100)',
    corpus_payloads: 1,
    avg_payload_bytes: batch[0]!.payload.length,
    events_per_s_per_core: Math.round(perS),
    us_per_event: Number(((m.ms * 1000) / m.rows).toFixed(2)),
    floor_decode_parse_per_s: Math.round(floorRowsPerS),
    normalize_vs_floor: Number((perS / floorRowsPerS).toFixed(3)),
  });
}

writeBenchReport({
  name: 'normalize',
  description:
    'normalizeAll() events/s on one core per source type, replaying the committed vendor fixtures ' +
    `(libs/normalize/src/fixtures) round-robin for ${MEASURE_MS} ms after a ${WARMUP_MS} ms warm-up. ` +
    '"floor" is decoding the payload and JSON.parse alone (toString for syslog) on the same payloads.',
  rows,
  notes: [
    'One process, one event loop: the figure is per core. The machine is shared with other work, so figures are noisy.',
    'events = normalized rows; a CloudTrail Records file counts one event per record.',
    'Syslog payloads arrive with the header already parsed by the gateway; the figure covers MSG extraction (CEF, LEEF, FortiGate, PAN-OS, sshd/sudo/PAM) and the row.',
  ],
});
