/**
 * buffer-ring: memory ring push+pop throughput with batches, against the floor (copying the same
 * references in and out of a plain array) and a naive array queue; then the whole memory path of the
 * buffer (offer → next → ack). `npm run bench -- ring`.
 */
import { rmSync } from 'node:fs';
import type { BufferRecord } from '@siem/core';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { EventBuffer } from '../src/event-buffer.js';
import { defaultBufferOptions } from '../src/options.js';
import { RecordRing } from '../src/record-ring.js';
import { tempDir } from '../src/testing/helpers.js';
import { syslogCorpus, timeIt } from './corpus.js';

const pool = syslogCorpus(8192);
const EVENTS = 10_000_000;
const REPS = 5;
const BACKLOG = 100_000;
const rows: BenchRow[] = [];

function batchOf(size: number, i: number): BufferRecord[] {
  const start = (i * size) % (pool.length - size + 1);
  return pool.slice(start, start + size);
}

async function measure(name: string, batch: number, events: number, fn: () => unknown): Promise<number> {
  const { medianMs, bestMs } = await timeIt(REPS, fn);
  const perSec = events / (medianMs / 1000);
  rows.push({
    case: name,
    batch,
    events_per_s: Math.round(perSec),
    best_events_per_s: Math.round(events / (bestMs / 1000)),
    ns_per_event: Number(((medianMs * 1e6) / events).toFixed(2)),
  });
  return perSec;
}

for (const batch of [1, 64, 1024, 8192]) {
  const batches = Array.from({ length: 16 }, (_, i) => batchOf(batch, i));
  const rounds = Math.floor((batch === 1 ? EVENTS / 4 : EVENTS) / batch);
  const events = rounds * batch;

  // Floor: the same reference moves (in, then out) through a preallocated plain array.
  const slots: Array<BufferRecord | undefined> = [];
  for (let i = 0; i < batch; i++) slots.push(undefined);
  const out: BufferRecord[] = [];
  await measure('floor: copy refs into and out of an array', batch, events, () => {
    for (let r = 0; r < rounds; r++) {
      const b = batches[r & 15]!;
      for (let i = 0; i < b.length; i++) slots[i] = b[i];
      out.length = 0;
      for (let i = 0; i < b.length; i++) {
        out.push(slots[i]!);
        slots[i] = undefined;
      }
    }
  });

  // Both queues keep a backlog (a buffer in use holds events while the sink lags), so the ring wraps
  // around and the array queue has something to move on every splice.
  const backlog: BufferRecord[] = [];
  for (let i = 0; i < BACKLOG; i++) backlog.push(pool[i % pool.length]!);
  const ring = new RecordRing(1_000_000);
  ring.push(backlog);
  await measure('RecordRing push + shiftInto', batch, events, () => {
    for (let r = 0; r < rounds; r++) {
      ring.push(batches[r & 15]!);
      out.length = 0;
      ring.shiftInto(out, batch);
    }
  });

  const queue: BufferRecord[] = backlog.slice();
  if (batch >= 64) {
    await measure('peer: Array push(...batch) + splice(0, n)', batch, events, () => {
      for (let r = 0; r < rounds; r++) {
        queue.push(...batches[r & 15]!);
        queue.splice(0, batch);
      }
    });
  }
}

// The buffer's memory path: a batch offered, leased and acked (one promise per lease).
const dir = tempDir('siem-bench-ring-');
for (const batch of [64, 1024, 8192]) {
  const buffer = new EventBuffer({ ...defaultBufferOptions(), dir }, { name: `bench-${batch}` });
  await buffer.open();
  const rounds = Math.floor(2_000_000 / batch);
  const batches = Array.from({ length: 16 }, (_, i) => batchOf(batch, i));
  await measure('EventBuffer offer + next + ack (memory)', batch, rounds * batch, async () => {
    for (let r = 0; r < rounds; r++) {
      buffer.offer(batches[r & 15]!);
      const lease = (await buffer.next(batch))!;
      buffer.ack(lease);
    }
  });
  await buffer.close();
}
rmSync(dir, { recursive: true, force: true });

writeBenchReport({
  name: 'buffer-ring',
  description:
    'Memory ring push+pop, events/s (median of 5 runs after a warm-up), batches of N events taken from a pool of ' +
    'realistic encoded syslog events. Floor: the same reference copies through a plain preallocated array. ' +
    'Peer: a naive JavaScript array queue (push, splice). Both queues hold a backlog of 100,000 events, as a buffer ' +
    'does while its sink lags. Last rows: the buffer memory path, offer → next → ack, one lease per batch. ' +
    'Command: npm run bench -- ring',
  rows,
  notes: [
    'Target: >= 10M events/s per core with batches (RecordRing rows, batch >= 64).',
    'The machine is shared with other work (2 cores): figures are noisy; compare rows of one run.',
  ],
});
