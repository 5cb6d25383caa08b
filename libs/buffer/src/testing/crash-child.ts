/**
 * The process the crash test kills. `run` mode writes through a buffer as fast as it can while a slow
 * sink consumes, and reports on stdout (one JSON object per line, written synchronously to the pipe):
 *   {"t":"ready","redelivered":N,"corrupt":N}   once the buffer is open (N from the replay)
 *   {"t":"w","ids":[…]}                          events spilled and written (survive kill -9 from now on)
 *   {"t":"d","ids":[…]}                          events handed to the "sink", printed before the ack
 * until it is killed. `drain` mode takes and acks everything left, closes gracefully and exits 0.
 * Usage: crash-child <dir> run|drain <run-id>
 */
import { EventBuffer } from '../event-buffer.js';
import { defaultBufferOptions } from '../options.js';
import { timeout } from './helpers.js';

const [dir, mode, runId] = process.argv.slice(2);
if (dir === undefined || (mode !== 'run' && mode !== 'drain') || runId === undefined) {
  process.stderr.write('usage: crash-child <dir> run|drain <run-id>\n');
  process.exit(2);
}

const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const buffer = new EventBuffer(
  {
    ...defaultBufferOptions(),
    dir,
    max_events: 300,
    frame_max_bytes: 4096,
    segment_max_bytes: 24 * 1024,
    spill_linger_ms: 2,
    sync_interval_ms: 50,
    close_drain_ms: 200,
    // A small cap keeps the test's data bounded and exercises pause/resume under `block`.
    max_disk_bytes: 384 * 1024,
    when_full: 'block',
  },
  { name: 'crash-child', journalCompactBytes: 2048 },
);
await buffer.open();
const opened = buffer.stats();
say({ t: 'ready', redelivered: opened.redeliveredAfterCrash, corrupt: opened.corruptFrames });

const idsOf = (records: readonly { value: Buffer }[]) =>
  records.map((r) => r.value.toString('latin1', 0, r.value.indexOf(32)));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (mode === 'drain') {
  for (;;) {
    const lease = await buffer.next(500, timeout(1_000)).catch(() => null);
    if (lease === null) break;
    say({ t: 'd', ids: idsOf(lease.records) });
    buffer.ack(lease);
  }
  await buffer.close();
  const s = buffer.stats();
  say({ t: 'done', diskSegments: s.diskSegments, corrupt: s.corruptFrames });
  process.exit(0);
}

let seq = 0;
const padding = ' sshd[4242]: Accepted publickey for deploy from 10.1.2.3 port 51234 ssh2: RSA SHA256:abc';

async function produce(): Promise<void> {
  let spilled: string[] = [];
  for (let batch = 0; ; batch++) {
    const n = 1 + Math.floor(Math.random() * 80);
    const records = [];
    for (let i = 0; i < n; i++) {
      const id = `${runId}-${seq++}`;
      records.push({ key: `host-${seq % 7}`, value: Buffer.from(`${id} ${padding} ${Math.random()}`) });
    }
    const before = buffer.stats().acceptedDiskEvents;
    const result = buffer.offer(records);
    if (result !== 'rejected' && buffer.stats().acceptedDiskEvents - before === n)
      spilled.push(...idsOf(records));
    if (batch % 4 === 3) {
      const written = spilled;
      spilled = [];
      await buffer.flush();
      if (written.length > 0) say({ t: 'w', ids: written });
    }
    if (result === 'pause' || result === 'rejected') {
      await new Promise<void>((resolve) => {
        const off = buffer.onResume(() => {
          off();
          resolve();
        });
        setTimeout(() => {
          off();
          resolve();
        }, 50);
      });
    }
    await new Promise((r) => setImmediate(r));
  }
}

async function consume(): Promise<void> {
  for (;;) {
    const lease = await buffer.next(1 + Math.floor(Math.random() * 120));
    if (lease === null) return;
    await pause(Math.random() * 4);
    if (Math.random() < 0.85) {
      say({ t: 'd', ids: idsOf(lease.records) });
      buffer.ack(lease);
    } else {
      buffer.nack(lease);
    }
  }
}

void produce();
void consume();
