/**
 * buffer-spill: throughput of spilling to disk (offer → frame → zstd level 1 → segment file) and of
 * replaying (segment → decompress → lease → ack), in MB/s of original event bytes, with the
 * compression ratio, on a realistic syslog corpus; against the physical limits measured in the same
 * run (memcpy, plain fs write of the uncompressed frames, zstd alone). `npm run bench -- spill`.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { Compressor, Decompressor } from 'zstd-napi';
import { EventBuffer, type EventBufferOptions } from '../src/event-buffer.js';
import { defaultBufferOptions } from '../src/options.js';
import { tempDir } from '../src/testing/helpers.js';
import { corpusBytes, syslogCorpus, timeIt } from './corpus.js';

const EVENTS = 200_000;
const REPS = 3;
const BATCH = 1024;
const corpus = syslogCorpus(EVENTS);
const original = corpusBytes(corpus);
const MB = original / 1e6;
const rows: BenchRow[] = [];
const row = (name: string, ms: number, extra: BenchRow = {}) =>
  rows.push({
    case: name,
    mb_per_s: Math.round(MB / (ms / 1000)),
    events_per_s: Math.round(EVENTS / (ms / 1000)),
    ...extra,
  });

// The raw frame stream (what the buffer compresses): u32 key length, key, u32 value length, value.
const raw = Buffer.allocUnsafe(original + 8 * EVENTS);
let at = 0;
for (const r of corpus) {
  at = raw.writeUInt32LE(Buffer.byteLength(r.key), at);
  at += raw.write(r.key, at);
  at = raw.writeUInt32LE(r.value.length, at);
  at += r.value.copy(raw, at);
}
const frames: Buffer[] = [];
for (let o = 0; o < at; o += 256 * 1024) frames.push(raw.subarray(o, Math.min(at, o + 256 * 1024)));

// Physical limits.
const sink = Buffer.allocUnsafe(at);
row('limit: memcpy of the raw bytes', (await timeIt(REPS, () => raw.copy(sink, 0, 0, at))).medianMs);
const scratch = tempDir('siem-bench-spill-');
const plain = join(scratch, 'plain.bin');
row(
  'limit: fs write of the uncompressed frames (page cache)',
  (
    await timeIt(REPS, () => {
      const fd = openSync(plain, 'w');
      for (const f of frames) writeSync(fd, f);
      closeSync(fd);
    })
  ).medianMs,
);
const chunk = Buffer.allocUnsafe(1024 * 1024);
row(
  'limit: fs read of them (1 MiB reads, page cache)',
  (
    await timeIt(REPS, () => {
      const fd = openSync(plain, 'r');
      while (readSync(fd, chunk, 0, chunk.length, null) > 0);
      closeSync(fd);
    })
  ).medianMs,
);
const cz = new Compressor();
cz.setParameters({ compressionLevel: 1 });
let compressed: Buffer[] = [];
row(
  'limit: zstd level 1 compress alone (256 KiB frames)',
  (
    await timeIt(REPS, () => {
      compressed = frames.map((f) => cz.compress(f));
    })
  ).medianMs,
);
const dz = new Decompressor();
row(
  'limit: zstd decompress alone',
  (
    await timeIt(REPS, () => {
      for (const c of compressed) dz.decompress(c);
    })
  ).medianMs,
);

// The buffer.
const options = (dir: string): EventBufferOptions => ({
  ...defaultBufferOptions(),
  dir,
  max_events: 1, // every batch to disk
  max_disk_bytes: 8 * 1024 ** 3,
  max_pending_write_bytes: 1024 ** 3,
});
let diskBytes = 0;
const writeTimes: number[] = [];
const replayTimes: number[] = [];
for (let rep = 0; rep <= REPS; rep++) {
  const dir = join(scratch, `run-${rep}`);
  const b = new EventBuffer(options(dir), { name: 'bench-spill' });
  await b.open();
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) b.offer(corpus.slice(i, i + BATCH));
  await b.flush();
  const t1 = performance.now();
  diskBytes = b.stats().diskBytes;
  await b.close();
  const r = new EventBuffer(options(dir), { name: 'bench-replay' });
  await r.open();
  const t2 = performance.now();
  let n = 0;
  while (n < EVENTS) {
    const lease = (await r.next(8192))!;
    n += lease.records.length;
    r.ack(lease);
  }
  const t3 = performance.now();
  await r.close();
  rmSync(dir, { recursive: true, force: true });
  if (rep === 0) continue; // warm-up
  writeTimes.push(t1 - t0);
  replayTimes.push(t3 - t2);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratio = original / diskBytes;
row('buffer spill: offer → zstd 1 → segment, until written', median(writeTimes), {
  compression_ratio: Number(ratio.toFixed(2)),
  disk_bytes_per_event: Number((diskBytes / EVENTS).toFixed(1)),
});
row('buffer replay: segment → lease → ack', median(replayTimes));
rmSync(scratch, { recursive: true, force: true });

writeBenchReport({
  name: 'buffer-spill',
  description:
    `Spill write and replay of ${EVENTS.toLocaleString('en-US')} realistic encoded syslog events ` +
    `(sshd, sudo, cron, kernel firewall, nginx, FortiGate key=value, CEF, RFC 5424; raw-event JSON envelope, ` +
    `${Math.round(original / EVENTS)} B/event, ${MB.toFixed(0)} MB), MB/s of original bytes (key + value), median of ` +
    `${REPS} runs after a warm-up, zstd level 1, 256 KiB frames, default sync policy (fdatasync every second), ` +
    "batches of 1024, on the machine's /tmp filesystem. Limits measured in the same run. Command: npm run bench -- spill",
  rows,
  notes: [
    'Target: >= 200 MB/s per core of original bytes for spill write and replay.',
    'The spill row includes encoding, CRC32, zstd, the async positional writes and waiting for them; replay includes ' +
      'reading, checking, decompressing, splitting into records, journaling deliveries and acks.',
    'The machine is shared with other work (2 cores): figures are noisy; compare rows of one run.',
  ],
});
