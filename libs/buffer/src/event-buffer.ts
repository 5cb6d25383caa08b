import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type BufferRecord,
  type Intake,
  type Lease,
  type LeaseSource,
  type OfferResult,
  SiemError,
} from '@siem/core';
import { type Logger, RateLimitedLog, silentLogger } from '@siem/observability';
import {
  decodeSegmentHeader,
  FrameBuilder,
  SEGMENT_HEADER_SIZE,
  segmentFileName,
  segmentIdOf,
} from './format.js';
import { AckLedger, type FrameKey } from './ledger.js';
import { BufferCounters, bump, trackCounters } from './metrics.js';
import { type BufferOptions, checkBufferOptions } from './options.js';
import type { RangeSet } from './range-set.js';
import { RecordRing } from './record-ring.js';
import { SegmentFileReader } from './segment-reader.js';
import { newSegmentRecord, type Segment, SegmentWriter } from './segment-writer.js';

/** Options with the spill directory resolved (see `resolveBufferDir`). */
export type EventBufferOptions = Omit<BufferOptions, 'dir'> & { dir: string };

export interface EventBufferDeps {
  logger?: Logger;
  /** Metric label and log field; one name per buffer in a process. */
  name?: string;
  /** Journal size that triggers a ledger snapshot (default 8 MiB; tests make it small). */
  journalCompactBytes?: number;
}

export type BufferState = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/** A plain snapshot of what the buffer holds and has done (the metrics show the same figures). */
export interface BufferStats {
  state: BufferState;
  memoryEvents: number;
  memoryBytes: number;
  memoryFill: number;
  spilling: boolean;
  paused: boolean;
  diskBytes: number;
  diskSegments: number;
  pendingWriteBytes: number;
  diskHealthy: boolean;
  diskErrors: number;
  outstandingLeases: number;
  requeuedEvents: number;
  acceptedMemoryEvents: number;
  acceptedDiskEvents: number;
  spilledEvents: number;
  shutdownSpilledEvents: number;
  replayedEvents: number;
  ackedEvents: number;
  nackedEvents: number;
  droppedEvents: number;
  redeliveredAfterNack: number;
  redeliveredAfterCrash: number;
  corruptFrames: number;
  lostEvents: number;
  lateAcks: number;
}

interface MemRun {
  kind: 'mem';
  count: number;
  startedAtMs: number;
  queued: boolean;
}

interface DiskRun {
  kind: 'disk';
  /** Events of the run not yet handed out (Infinity for the data of earlier runs, read to its end). */
  remaining: number;
  old: boolean;
  /** Segment of the run's first frame (every disk run starts a segment of its own). */
  firstSegment: Segment | null;
  queued: boolean;
}

type Run = MemRun | DiskRun;

interface FrameRef extends FrameKey {
  seg: Segment;
}

interface Slice {
  frame: FrameRef;
  from: number;
  to: number;
}

type Origin = 'mem' | 'disk';

class BufferLease implements Lease {
  readonly id: number;
  readonly records: readonly BufferRecord[];
  readonly position: number;
  readonly origin: Origin;
  readonly slices: readonly Slice[];
  readonly bytes: number;

  constructor(
    id: number,
    records: BufferRecord[],
    position: number,
    origin: Origin,
    slices: Slice[],
    bytes: number,
  ) {
    this.id = id;
    this.records = records;
    this.position = position;
    this.origin = origin;
    this.slices = slices;
    this.bytes = bytes;
  }
}

interface RequeuedItem {
  position: number;
  records: BufferRecord[];
  origin: Origin;
  slices: Slice[];
  bytes: number;
}

interface CurrentFrame {
  frame: FrameRef;
  records: BufferRecord[];
  /** Indexes not handed out yet, as flat ranges. */
  pending: number[];
}

const ORDER_STEPS = 65_536;
const TRANSIENT_ERRORS = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM', 'EINTR']);

function sumBytes(records: readonly BufferRecord[]): number {
  let n = 0;
  for (const r of records) n += r.key.length + r.value.length;
  return n;
}

/** Splits `slices` after `k` events. */
function splitSlices(slices: readonly Slice[], k: number): [Slice[], Slice[]] {
  const head: Slice[] = [];
  const tail: Slice[] = [];
  let left = k;
  for (const s of slices) {
    const n = s.to - s.from;
    if (left >= n) {
      head.push(s);
      left -= n;
    } else if (left > 0) {
      head.push({ frame: s.frame, from: s.from, to: s.from + left });
      tail.push({ frame: s.frame, from: s.from + left, to: s.to });
      left = 0;
    } else {
      tail.push(s);
    }
  }
  return [head, tail];
}

async function moveTailAside(path: string, from: number, to: number, dest: string): Promise<void> {
  await pipeline(createReadStream(path, { start: from, end: to - 1 }), createWriteStream(dest));
}

/**
 * The buffer between the adapters and the producer: a memory ring that overflows to zstd-compressed
 * segment files, with acknowledgements that survive restarts and crashes.
 *
 * **Intake** (`offer`). A batch goes to memory while the ring's fill (the larger of events and bytes
 * over their caps, counting events handed out and not yet acked) stays at or below the high
 * watermark; above it batches spill to disk, and keep spilling until the fill is back at or below the
 * low watermark. When the disk cannot take a batch (cap reached, writer behind by more than
 * max_pending_write_bytes, or a write error), it goes to the memory band above the high watermark;
 * with `block` the answer is then `pause` (taken, stop reading). A batch that fits nowhere is rejected
 * (reason `full`): under `drop_newest` that is the policy, under `block` it only happens to an adapter
 * that keeps offering after being told to pause (UDP cannot pause). Every rejection is counted.
 *
 * **Order.** Everything accepted forms one FIFO: memory and disk are runs of one queue, and a consumer
 * takes from the head run, so events come out in the order they went in (globally, hence per key).
 * A nacked lease goes back ahead of everything not yet handed out, in original order among nacked
 * leases; if a later lease was acked meanwhile, the nacked events come after it (a sink that pipelines
 * can reorder across a failure, never otherwise). A graceful close writes what is in memory to disk in
 * its place in the queue (segments ordered before the disk data they preceded), so order survives
 * restarts. After a crash, disk data is replayed in order; what was only in memory is gone.
 *
 * **Acknowledgement.** Events leave the buffer only when their lease is acked. Disk frames are tracked
 * per event range in the ack ledger (see ledger.ts); a segment file is deleted once every frame in it
 * is acked. A graceful restart delivers every unacked event exactly once more and no acked one; after
 * a crash, events handed out whose ack was not yet journaled are delivered again and counted
 * (`siem_buffer_redelivered_events_total{reason="crash"}`): at least once.
 *
 * **Sync policy.** A spilled event is compressed and written within spill_linger_ms (or as soon as its
 * frame is full); `flush()` forces it. Once written it survives kill -9 (it is in the OS page cache).
 * The active segment and the ack journal are fdatasync'ed every sync_interval_ms and a segment when it
 * is finished; the ledger snapshot is replaced atomically. A power loss can therefore cost up to
 * sync_interval_ms of spilled events (and of acks, which then means duplicates); a torn tail is
 * detected by its checksum, cut off and counted.
 */
export class EventBuffer implements Intake, LeaseSource {
  readonly #o: EventBufferOptions;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #log: RateLimitedLog;
  readonly #counters: BufferCounters;
  readonly #ring: RecordRing;
  readonly #builder: FrameBuilder;
  readonly #corruptDir: string;
  readonly #journalCompactBytes: number | undefined;
  #state: BufferState = 'new';
  #rejectReason = 'none';
  #ledger: AckLedger | null = null;
  #writer: SegmentWriter | null = null;
  // The queue: requeued items first (by position), then runs.
  readonly #runs: Run[] = [];
  #tail: Run | null = null;
  #requeued: RequeuedItem[] = [];
  #position = 0;
  // Memory held outside the ring (handed out or requeued, from memory).
  #heldEvents = 0;
  #heldBytes = 0;
  #spilling = false;
  #paused = false;
  #resumeScheduled = false;
  readonly #resumeListeners = new Set<() => void>();
  // Disk.
  readonly #live = new Set<Segment>();
  #diskBytes = 0;
  #frameRun: DiskRun | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #syncTimer: NodeJS.Timeout | null = null;
  #syncing = false;
  #closeWrites = false;
  // Reader.
  #readSegs: Segment[] = [];
  #readIdx = 0;
  #readOff = SEGMENT_HEADER_SIZE;
  #fileReader: { seg: Segment; reader: SegmentFileReader } | null = null;
  #cur: CurrentFrame | null = null;
  // Consumers.
  #consumerTail: Promise<unknown> = Promise.resolve();
  #dataWaiters: Array<() => void> = [];
  readonly #outstanding = new Map<number, BufferLease>();
  #leaseSeq = 0;
  #outstandingEmpty: (() => void) | null = null;
  #closing: Promise<void> | null = null;
  #opening: Promise<void> | null = null;

  constructor(options: EventBufferOptions, deps: EventBufferDeps = {}) {
    checkBufferOptions({ ...options, dir: options.dir });
    this.#o = options;
    this.#name = deps.name ?? 'main';
    this.#logger = (deps.logger ?? silentLogger).child({ component: 'buffer', buffer: this.#name });
    this.#log = new RateLimitedLog(this.#logger);
    this.#counters = new BufferCounters(this.#name);
    this.#ring = new RecordRing(options.max_events);
    this.#builder = new FrameBuilder(options.zstd_level, options.frame_max_bytes);
    this.#corruptDir = join(options.dir, 'corrupt');
    this.#journalCompactBytes = deps.journalCompactBytes;
  }

  get state(): BufferState {
    return this.#state;
  }

  get rejectReason(): string {
    return this.#rejectReason;
  }

  get dir(): string {
    return this.#o.dir;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Opens the spill directory: loads the ack ledger, checks every segment header (a bad one is moved
   * to `corrupt/`), deletes segments whose events were all acknowledged, and queues the rest for replay
   * ahead of anything new. Replay streams frame by frame as consumers ask; nothing is loaded here.
   */
  open(): Promise<void> {
    if (this.#state !== 'new') {
      return Promise.reject(new SiemError('SIEM_ERR_BUFFER_CLOSED', 'the buffer was already opened'));
    }
    this.#state = 'opening';
    this.#opening = this.#open().catch(async (err: unknown) => {
      // Only an unusable directory gets here (permissions, not a directory): damaged content never does.
      this.#state = 'closed';
      await this.#stopIo().catch(() => undefined);
      throw err instanceof SiemError
        ? err
        : new SiemError('SIEM_ERR_BUFFER_IO', `cannot open the buffer directory ${this.#o.dir}`, {
            cause: err,
          });
    });
    return this.#opening;
  }

  async #open(): Promise<void> {
    const dir = this.#o.dir;
    try {
      await mkdir(this.#corruptDir, { recursive: true });
    } catch (cause) {
      throw new SiemError('SIEM_ERR_BUFFER_IO', `cannot create the buffer directory ${dir}`, { cause });
    }
    const c = this.#counters;
    const { ledger, report } = await AckLedger.open(
      dir,
      this.#corruptDir,
      {
        onWriteError: (err) => this.#diskError('journal', err),
        onCompactionDue: () => {
          this.#ledger?.snapshot(false).catch((err: unknown) => this.#diskError('ledger', err));
        },
      },
      this.#journalCompactBytes,
    );
    this.#ledger = ledger;
    if (report.snapshotCorrupt) {
      bump(c.corruptFrames, 'ledger');
      this.#logger.error(
        { dir },
        'ack ledger unreadable, moved to corrupt/: unacked state lost, events may repeat',
      );
    }
    if (report.journalTornEntries > 0) bump(c.corruptFrames, 'journal_tail', report.journalTornEntries);
    if (report.journalUnreadable) {
      bump(c.corruptFrames, 'journal');
      this.#logger.error(
        { dir },
        'ack journal unreadable, moved to corrupt/: recent acks lost, events may repeat',
      );
    }

    const segs: Segment[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const id = segmentIdOf(name);
      if (id === null) continue;
      const seg = await this.#loadSegment(name, id);
      if (seg !== null) segs.push(seg);
    }
    segs.sort((a, b) => a.order - b.order || a.id - b.id);
    const kept: Segment[] = [];
    for (const seg of segs) {
      const acks = ledger.lookup(seg.id, seg.nonce);
      if (acks !== undefined && acks.doneBelow >= seg.size) {
        // Every frame was acked; the previous run stopped before deleting the file.
        try {
          await rm(seg.path, { force: true });
          c.segmentsDeleted++;
          continue;
        } catch (err) {
          this.#diskError('delete', err); // replayed frames are all done: it stays, harmless
        }
      }
      kept.push(seg);
    }
    ledger.retain(new Set(kept.map((s) => s.id)));
    if (report.unclean) {
      const byId = new Map(kept.map((s) => [s.id, s]));
      let redelivered = 0;
      for (const d of report.unackedDeliveries) {
        const seg = byId.get(d.segment);
        if (seg !== undefined && seg.nonce === d.nonce && d.offset < seg.size) redelivered += d.events;
      }
      c.redelivered.crash += redelivered;
      this.#logger.warn(
        { dir, segments: kept.length, redelivered },
        'previous run did not shut down cleanly; events handed out without a recorded ack will be delivered again',
      );
    }
    let maxId = 0;
    for (const name of await readdir(dir)) maxId = Math.max(maxId, segmentIdOf(name) ?? 0);
    for (const seg of kept) {
      this.#live.add(seg);
      this.#diskBytes += seg.size;
    }
    this.#writer = new SegmentWriter(
      {
        dir,
        corruptDir: this.#corruptDir,
        segmentMaxBytes: this.#o.segment_max_bytes,
        syncEveryWrite: this.#o.sync_interval_ms === 0,
      },
      {
        onSegment: (seg) => {
          this.#live.add(seg);
          this.#diskBytes += SEGMENT_HEADER_SIZE;
          if (this.#ledger !== null)
            this.#ledger.nextSegmentId = Math.max(this.#ledger.nextSegmentId, seg.id + 1);
          if (!this.#closeWrites) this.#readSegs.push(seg);
        },
        onProgress: () => this.#maybeResume(),
        onSegmentDone: (seg) => this.#maybeDelete(seg),
        onError: (op, err) => this.#diskError(op, err),
        onConflict: (path) => {
          bump(c.corruptFrames, 'id_conflict');
          this.#logger.error({ path }, 'a file was in the way of a new segment; moved to corrupt/');
        },
      },
    );
    this.#writer.nextId = Math.max(ledger.nextSegmentId, maxId + 1);
    ledger.nextSegmentId = this.#writer.nextId;
    // Folds the journal into a fresh snapshot. On a full disk this fails: the journal still holds the
    // same facts, so the start goes on (a full disk must never stop the buffer from starting).
    await ledger.snapshot(false).catch((err: unknown) => this.#diskError('ledger', err));
    this.#readSegs = kept;
    if (kept.length > 0)
      this.#pushRun({
        kind: 'disk',
        remaining: Number.POSITIVE_INFINITY,
        old: true,
        firstSegment: kept[0]!,
        queued: false,
      });
    if (this.#o.sync_interval_ms > 0) {
      this.#syncTimer = setInterval(() => void this.#syncNow(), this.#o.sync_interval_ms);
      this.#syncTimer.unref();
    }
    c.refresh = () => this.#updateGauges();
    trackCounters(c);
    this.#state = 'open';
    this.#updateGauges();
    this.#wakeConsumers();
    if (kept.length > 0) {
      this.#logger.info(
        { dir, segments: kept.length, bytes: this.#diskBytes },
        'replaying events kept on disk by an earlier run',
      );
    }
  }

  async #loadSegment(name: string, id: number): Promise<Segment | null> {
    const path = join(this.#o.dir, name);
    const c = this.#counters;
    try {
      const h = await open(path, 'r');
      let size: number;
      const head = Buffer.alloc(SEGMENT_HEADER_SIZE);
      try {
        size = (await h.stat()).size;
        await h.read(head, 0, SEGMENT_HEADER_SIZE, 0);
      } finally {
        await h.close();
      }
      if (size < SEGMENT_HEADER_SIZE) {
        // Created but its header never fully written: a crash right at rotation. Holds no event.
        await rm(path, { force: true });
        bump(c.corruptFrames, 'torn_segment_header');
        bump(c.corruptBytes, 'torn_segment_header', size);
        return null;
      }
      const header = decodeSegmentHeader(head);
      if (typeof header === 'string' || header.id !== id) {
        const reason = typeof header === 'string' ? header : 'id does not match the file name';
        await this.#moveAside(path, `${name}.bad`);
        bump(c.corruptFrames, 'segment_header');
        bump(c.corruptBytes, 'segment_header', size);
        this.#logger.error({ file: name, reason }, 'segment header invalid; segment moved to corrupt/');
        return null;
      }
      return newSegmentRecord(this.#o.dir, header, true, size);
    } catch (err) {
      this.#diskError('read', err);
      await this.#moveAside(path, `${name}.unreadable`).catch(() => undefined);
      this.#logger.error({ file: name, err }, 'segment unreadable; moved to corrupt/');
      return null;
    }
  }

  async #moveAside(path: string, asName: string): Promise<void> {
    await rename(path, join(this.#corruptDir, `${Date.now()}-${asName}`));
  }

  /**
   * Graceful stop: offers are rejected from now on, consumers get null, leases in delivery have up to
   * close_drain_ms to be acked or nacked; then whatever is still in memory (ring, requeued, unacked) is
   * written to disk in queue order, everything is synced and the ledger is marked clean.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === 'opening') await this.#opening?.catch(() => undefined);
    if (this.#state === 'new' || this.#state === 'closed') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closing';
    this.#wakeConsumers();
    await this.#consumerTail;
    if (this.#outstanding.size > 0 && this.#o.close_drain_ms > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#outstandingEmpty = resolve;
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#o.close_drain_ms);
        }),
      ]);
      clearTimeout(timer);
      this.#outstandingEmpty = null;
    }
    // Leases still out are taken back: acks arriving later are ignored (their events repeat next run).
    for (const lease of [...this.#outstanding.values()].sort((a, b) => a.position - b.position)) {
      this.#requeue(lease);
    }
    this.#outstanding.clear();
    this.#clearLinger();
    this.#sealFrame();
    try {
      await this.#persistMemory();
      const lost = await this.#writer!.close();
      if (lost > 0) {
        bump(this.#counters.lostEvents, 'shutdown_disk_error', lost);
        this.#logger.error(
          { lost },
          'disk kept failing at shutdown: events that were only in memory are lost',
        );
      }
      await this.#ledger!.flush();
      await this.#ledger!.snapshot(true);
    } catch (err) {
      this.#diskError('close', err);
      this.#logger.error({ err }, 'buffer could not persist everything at shutdown');
    } finally {
      await this.#stopIo();
      this.#state = 'closed';
      this.#updateGauges();
      this.#counters.refresh = null;
    }
    this.#logger.info(
      { dir: this.#o.dir, segments: this.#live.size, bytes: this.#diskBytes },
      'buffer closed; events kept on disk for the next start',
    );
  }

  /**
   * Stops at once without persisting anything: memory is dropped, queued writes are not made, the
   * ledger is not marked clean. The on-disk state is what a kill -9 at this moment would leave (the
   * write in progress completes, as the kernel would complete it). For tests of crash recovery.
   */
  async abandon(): Promise<void> {
    this.#state = 'closed';
    this.#counters.refresh = null;
    this.#wakeConsumers();
    this.#clearLinger();
    this.#outstanding.clear();
    await this.#writer?.abandon();
    await this.#ledger?.abandon();
    await this.#stopIo();
  }

  async #stopIo(): Promise<void> {
    if (this.#syncTimer !== null) clearInterval(this.#syncTimer);
    this.#syncTimer = null;
    await this.#ledger?.close();
    await this.#fileReader?.reader.close();
    this.#fileReader = null;
    this.#cur = null;
  }

  /**
   * Seals the frame being filled and resolves once every event spilled so far is written to its
   * segment file (so it survives a process crash); with `sync`, also fdatasync'ed (survives power loss).
   */
  async flush(options: { sync?: boolean } = {}): Promise<void> {
    if (this.#writer === null || this.#state !== 'open') return;
    this.#sealFrame();
    await this.#writer.drained();
    if (options.sync) await this.#syncNow();
  }

  async #syncNow(): Promise<void> {
    if (this.#syncing || this.#writer === null || this.#ledger === null) return;
    this.#syncing = true;
    try {
      await this.#writer.sync();
      await this.#ledger.sync().catch((err: unknown) => this.#diskError('sync', err));
    } finally {
      this.#syncing = false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Intake

  offer(records: BufferRecord[]): OfferResult {
    const n = records.length;
    if (this.#state !== 'open') return this.#reject('closed', n);
    if (n === 0) return 'ok';
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      bytes += r.key.length + r.value.length;
    }
    const o = this.#o;
    const events = this.#ring.size + this.#heldEvents;
    const mbytes = this.#ring.bytes + this.#heldBytes;
    const fillAfter = Math.max((events + n) / o.max_events, (mbytes + bytes) / o.max_memory_bytes);
    if (
      fillAfter <= o.high_watermark &&
      (!this.#spilling || Math.max(events / o.max_events, mbytes / o.max_memory_bytes) <= o.low_watermark)
    ) {
      this.#spilling = false;
      this.#toMemory(records, bytes);
      return 'ok';
    }
    this.#spilling = true;
    if (this.#diskAccepts(bytes + 8 * n)) {
      this.#toDisk(records, bytes);
      if (o.when_full === 'block' && !this.#diskAccepts(0)) return this.#pause();
      return 'ok';
    }
    // The disk cannot take it: the band above the high watermark.
    if (events + n <= o.max_events && mbytes + bytes <= o.max_memory_bytes) {
      this.#toMemory(records, bytes);
      return o.when_full === 'block' ? this.#pause() : 'ok';
    }
    return this.#reject('full', n);
  }

  onResume(listener: () => void): () => void {
    this.#resumeListeners.add(listener);
    return () => this.#resumeListeners.delete(listener);
  }

  #reject(reason: string, n: number): OfferResult {
    this.#rejectReason = reason;
    bump(this.#counters.dropped, reason, n);
    return 'rejected';
  }

  #pause(): OfferResult {
    this.#paused = true;
    this.#counters.pauses++;
    return 'pause';
  }

  #diskAccepts(bytes: number): boolean {
    const w = this.#writer!;
    const open = this.#builder.rawLength;
    return (
      w.healthy &&
      this.#diskBytes + open + bytes <= this.#o.max_disk_bytes &&
      w.pendingBytes + open <= this.#o.max_pending_write_bytes
    );
  }

  #fill(): number {
    return Math.max(
      (this.#ring.size + this.#heldEvents) / this.#o.max_events,
      (this.#ring.bytes + this.#heldBytes) / this.#o.max_memory_bytes,
    );
  }

  #maybeResume(): void {
    if (!this.#paused || this.#writer === null) return;
    if (!this.#diskAccepts(0) && this.#fill() > this.#o.low_watermark) return;
    this.#paused = false;
    if (this.#resumeScheduled) return;
    this.#resumeScheduled = true;
    setImmediate(() => {
      this.#resumeScheduled = false;
      for (const listener of [...this.#resumeListeners]) listener();
    });
  }

  #pushRun(run: Run): void {
    run.queued = true;
    this.#runs.push(run);
    this.#tail = run;
  }

  #toMemory(records: BufferRecord[], bytes: number): void {
    this.#ring.push(records);
    const c = this.#counters;
    c.acceptedEvents.memory += records.length;
    c.acceptedBytes.memory += bytes;
    const tail = this.#tail;
    if (tail !== null && tail.kind === 'mem') {
      tail.count += records.length;
      if (!tail.queued) this.#pushRun(tail);
    } else {
      if (tail !== null && tail.kind === 'disk' && !tail.old) {
        // The disk run ends: write its last frame now and finish its segment (deletable once read).
        this.#clearLinger();
        this.#sealFrame();
        this.#writer!.sealCurrent();
      }
      this.#pushRun({ kind: 'mem', count: records.length, startedAtMs: Date.now(), queued: false });
    }
    this.#wakeConsumers();
  }

  #toDisk(records: BufferRecord[], bytes: number): void {
    let run = this.#tail;
    if (run === null || run.kind !== 'disk' || run.old) {
      // Every disk run starts a segment of its own, so memory written at shutdown can be ordered
      // before it without splitting a segment.
      this.#sealFrame();
      this.#writer!.sealCurrent();
      run = { kind: 'disk', remaining: 0, old: false, firstSegment: null, queued: false };
      this.#pushRun(run);
    } else if (!run.queued) {
      this.#pushRun(run);
    }
    this.#frameRun = run;
    const now = Date.now();
    const max = this.#o.frame_max_bytes;
    for (let i = 0; i < records.length; i++) {
      this.#builder.append(records[i]!, now);
      if (this.#builder.rawLength >= max) this.#sealFrame();
    }
    run.remaining += records.length;
    const c = this.#counters;
    c.acceptedEvents.disk += records.length;
    c.acceptedBytes.disk += bytes;
    c.spilledEvents.overflow += records.length;
    c.spillOriginalBytes += bytes;
    if (this.#builder.count > 0 && this.#lingerTimer === null) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = null;
        this.#sealFrame();
      }, this.#o.spill_linger_ms);
      this.#lingerTimer.unref();
    }
    this.#wakeConsumers();
  }

  #clearLinger(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
  }

  /** Compresses the frame being filled and queues it for writing. */
  #sealFrame(): void {
    if (this.#builder.count === 0 || this.#writer === null) return;
    const frame = this.#builder.seal();
    const { segment } = this.#writer.append(frame);
    this.#diskBytes += frame.size;
    this.#counters.spillCompressedBytes += frame.size;
    const run = this.#frameRun;
    if (run !== null && run.firstSegment === null) run.firstSegment = segment;
    if (this.#builder.count === 0) this.#clearLinger();
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer side

  /**
   * The next batch of up to `maxRecords` events, in queue order; waits while the buffer is empty (or
   * not open yet). Resolves null once the buffer is closing or closed; rejects with the signal's reason
   * on abort (a lease is never lost to an abort: it is either returned or never taken).
   * Calls are served one at a time, in call order.
   */
  next(maxRecords: number, signal?: AbortSignal): Promise<Lease | null> {
    const max = Math.max(1, Math.floor(maxRecords));
    const p = this.#consumerTail.then(() => this.#take(max, signal));
    this.#consumerTail = p.catch(() => undefined);
    return p;
  }

  async #take(max: number, signal: AbortSignal | undefined): Promise<Lease | null> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#state === 'new' || this.#state === 'opening') {
        await this.#waitForData(signal); // open() wakes the consumers that came early
        continue;
      }
      if (this.#state !== 'open') return null;
      if (this.#requeued.length > 0) return await this.#leaseRequeued(max);
      const run = this.#runs[0];
      if (run === undefined) {
        await this.#waitForData(signal);
        continue;
      }
      if (run.kind === 'mem') {
        const records: BufferRecord[] = [];
        const before = this.#ring.bytes;
        const n = this.#ring.shiftInto(records, Math.min(max, run.count));
        const bytes = before - this.#ring.bytes;
        run.count -= n;
        if (run.count === 0) this.#shiftRun();
        this.#heldEvents += n;
        this.#heldBytes += bytes;
        return this.#hand(records, 'mem', [], bytes);
      }
      const lease = await this.#takeDisk(run, max);
      if (run.remaining <= 0 && this.#runs[0] === run) this.#shiftRun();
      if (lease !== null) return lease;
    }
  }

  #shiftRun(): void {
    const run = this.#runs.shift();
    if (run !== undefined) run.queued = false;
  }

  #hand(
    records: BufferRecord[],
    origin: Origin,
    slices: Slice[],
    bytes: number,
    position?: number,
  ): BufferLease {
    const pos = position ?? this.#position;
    if (position === undefined) this.#position += records.length;
    const lease = new BufferLease(++this.#leaseSeq, records, pos, origin, slices, bytes);
    this.#outstanding.set(lease.id, lease);
    return lease;
  }

  async #leaseRequeued(max: number): Promise<BufferLease> {
    const item = this.#requeued[0]!;
    let lease: BufferLease;
    if (item.records.length <= max) {
      this.#requeued.shift();
      lease = this.#hand(item.records, item.origin, item.slices, item.bytes, item.position);
    } else {
      const records = item.records.slice(0, max);
      const [head, tail] = splitSlices(item.slices, max);
      const bytes = item.origin === 'mem' ? sumBytes(records) : 0;
      lease = this.#hand(records, item.origin, head, bytes, item.position);
      item.records = item.records.slice(max);
      item.slices = tail;
      item.bytes -= bytes;
      item.position += max;
    }
    this.#counters.redelivered.nack += lease.records.length;
    if (lease.slices.length > 0) await this.#journalDelivery(lease.slices);
    return lease;
  }

  /**
   * Journals that disk events are being handed to the sink, and waits until the entries are written:
   * after a crash, every event that may have reached the sink without its ack being recorded is known
   * and counted as redelivered.
   */
  async #journalDelivery(slices: readonly Slice[]): Promise<void> {
    const ledger = this.#ledger!;
    for (const s of slices) ledger.deliver(s.frame, s.from, s.to);
    await ledger.flush();
  }

  async #takeDisk(run: DiskRun, max: number): Promise<BufferLease | null> {
    const records: BufferRecord[] = [];
    const slices: Slice[] = [];
    while (records.length < max && run.remaining > 0) {
      let cur = this.#cur;
      if (cur === null || cur.pending.length === 0) {
        this.#cur = null;
        cur = await this.#nextFrame(run);
        if (cur === null) {
          if (!run.old && run.remaining > 0) {
            this.#logger.error({ remaining: run.remaining }, 'disk run ended early; its events are lost');
            bump(this.#counters.lostEvents, 'missing', run.remaining);
          }
          run.remaining = 0;
          break;
        }
        this.#cur = cur;
      }
      const a = cur.pending[0]!;
      const b = cur.pending[1]!;
      const k = Math.min(b - a, max - records.length, run.remaining);
      for (let i = a; i < a + k; i++) records.push(cur.records[i]!);
      slices.push({ frame: cur.frame, from: a, to: a + k });
      if (a + k === b) cur.pending.splice(0, 2);
      else cur.pending[0] = a + k;
      run.remaining -= k;
    }
    if (this.#cur !== null && this.#cur.pending.length === 0) this.#cur = null;
    if (records.length === 0) return null;
    await this.#journalDelivery(slices);
    return this.#hand(records, 'disk', slices, 0);
  }

  async #readerFor(seg: Segment): Promise<SegmentFileReader> {
    if (this.#fileReader?.seg === seg) return this.#fileReader.reader;
    await this.#fileReader?.reader.close();
    this.#fileReader = null;
    const reader = await SegmentFileReader.open(seg.path, seg.written);
    this.#fileReader = { seg, reader };
    return reader;
  }

  /** The next frame of the queue's head disk run, or null when the run has no more frames. */
  async #nextFrame(run: DiskRun): Promise<CurrentFrame | null> {
    const c = this.#counters;
    let readFailures = 0;
    for (;;) {
      const seg = this.#readSegs[this.#readIdx];
      if (seg === undefined) {
        if (!run.old && this.#builder.count > 0) {
          this.#sealFrame();
          continue;
        }
        return null;
      }
      if (seg.old !== run.old) return null;
      const off = this.#readOff;
      if (off >= seg.size) {
        if (!seg.sealed) {
          if (this.#builder.count > 0) {
            this.#sealFrame();
            if (seg.size > off || seg.sealed) continue;
          }
          return null;
        }
        await this.#finishReading(seg);
        this.#readIdx++;
        this.#readOff = SEGMENT_HEADER_SIZE;
        if (this.#readIdx > 256) {
          this.#readSegs = this.#readSegs.slice(this.#readIdx);
          this.#readIdx = 0;
        }
        continue;
      }
      const queued = seg.queued.get(off);
      if (queued !== undefined) {
        this.#readOff = off + queued.size;
        seg.frames?.delete(off);
        return this.#openFrame(seg, off, queued.size, queued.count, queued.records, null);
      }
      let read: Awaited<ReturnType<SegmentFileReader['readAt']>>;
      try {
        const reader = await this.#readerFor(seg);
        reader.end = seg.written;
        read = await reader.readAt(off);
        readFailures = 0;
      } catch (err) {
        await this.#fileReader?.reader.close();
        this.#fileReader = null;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (TRANSIENT_ERRORS.has(code) && readFailures < 30) {
          // Out of descriptors or memory for a moment: wait and read again rather than give data up.
          readFailures++;
          this.#diskError('read', err);
          await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * readFailures)));
          continue;
        }
        await this.#abandonSegmentTail(seg, off, err, run);
        continue;
      }
      if (read.kind === 'frame') {
        this.#readOff = off + read.size;
        seg.frames?.delete(off);
        const acks = this.#ledger!.lookup(seg.id, seg.nonce);
        if (acks?.isDone(off)) continue; // delivered and acked in an earlier run
        c.replayedEvents += read.header.count;
        c.replayedBytes += read.header.rawLength;
        return this.#openFrame(
          seg,
          off,
          read.size,
          read.header.count,
          read.records,
          acks?.ackedOf(off) ?? null,
        );
      }
      if (read.kind === 'end') {
        if (!seg.old) {
          // Cannot happen (an unwritten frame is always in `queued`); never spin on it.
          this.#logger.error({ segment: seg.id, offset: off }, 'segment ended before its known size');
        }
        seg.size = off;
        continue;
      }
      const known = seg.frames?.get(off);
      if (known !== undefined) {
        // A frame of this run that reads back damaged (a disk fault): skip exactly it.
        bump(c.corruptFrames, read.kind === 'torn' ? 'torn_tail' : 'checksum');
        bump(c.corruptBytes, 'checksum', known.size);
        bump(c.lostEvents, 'corrupt', known.count);
        this.#log.error(
          `corrupt:${seg.id}`,
          { segment: seg.id, offset: off, reason: read.reason },
          'frame damaged on disk; skipped',
        );
        seg.frames!.delete(off);
        this.#readOff = off + known.size;
        if (!run.old) run.remaining = Math.max(0, run.remaining - known.count);
        const frame: FrameRef = {
          seg,
          segment: seg.id,
          nonce: seg.nonce,
          offset: off,
          size: known.size,
          count: known.count,
        };
        this.#ledger!.ack(frame, 0, known.count);
        continue;
      }
      await this.#cutSegment(seg, off, read);
    }
  }

  /** An old segment with a torn tail or damage at `off`: keep what is before, set the rest aside. */
  async #cutSegment(
    seg: Segment,
    off: number,
    read: { kind: 'torn' | 'corrupt'; bytes: number; reason: string },
  ): Promise<void> {
    const c = this.#counters;
    const end = off + read.bytes;
    if (read.kind === 'torn') {
      bump(c.corruptFrames, 'torn_tail');
      bump(c.corruptBytes, 'torn_tail', read.bytes);
      this.#logger.warn(
        { segment: seg.id, offset: off, bytes: read.bytes, reason: read.reason },
        'torn tail skipped (an interrupted write)',
      );
    } else {
      bump(c.corruptFrames, 'checksum');
      bump(c.corruptBytes, 'checksum', read.bytes);
      this.#logger.error(
        { segment: seg.id, offset: off, bytes: read.bytes, reason: read.reason },
        'segment damaged: the rest of it is moved to corrupt/ and not replayed',
      );
      await moveTailAside(
        seg.path,
        off,
        end,
        join(this.#corruptDir, `${Date.now()}-${segmentFileName(seg.id)}.at-${off}.bad`),
      ).catch((err: unknown) => this.#diskError('read', err));
    }
    try {
      await this.#fileReader?.reader.close();
      this.#fileReader = null;
      if (seg.old) await truncate(seg.path, off);
    } catch (err) {
      this.#diskError('write', err);
    }
    this.#diskBytes -= Math.max(0, seg.size - off);
    seg.size = off;
    seg.written = Math.min(seg.written, off);
  }

  /** A read failed outright (EIO, file gone): give up the rest of the segment rather than retry forever. */
  async #abandonSegmentTail(seg: Segment, off: number, err: unknown, run: DiskRun): Promise<void> {
    this.#diskError('read', err);
    this.#logger.error(
      { segment: seg.id, offset: off, err },
      'segment unreadable from here; the rest is skipped',
    );
    if (!seg.old && seg.frames !== null) {
      let lost = 0;
      for (const [o, f] of seg.frames) if (o >= off) lost += f.count;
      bump(this.#counters.lostEvents, 'unreadable', lost);
      if (!run.old) run.remaining = Math.max(0, run.remaining - lost);
      seg.frames.clear();
    }
    if (!seg.sealed && this.#writer?.current === seg) this.#writer.sealCurrent();
    this.#diskBytes -= Math.max(0, seg.size - off);
    seg.size = off;
  }

  #openFrame(
    seg: Segment,
    offset: number,
    size: number,
    count: number,
    records: BufferRecord[],
    acked: RangeSet | null,
  ): CurrentFrame {
    seg.openFrames++;
    return {
      frame: { seg, segment: seg.id, nonce: seg.nonce, offset, size, count },
      records,
      pending: acked === null ? [0, count] : acked.gaps(0, count),
    };
  }

  async #finishReading(seg: Segment): Promise<void> {
    seg.readDone = true;
    if (this.#fileReader?.seg === seg) {
      await this.#fileReader.reader.close();
      this.#fileReader = null;
    }
    this.#maybeDelete(seg);
  }

  #maybeDelete(seg: Segment): void {
    if (!seg.readDone || seg.openFrames > 0 || !seg.sealed || !seg.writerDone || seg.deleted) return;
    if (this.#state === 'closed') return;
    seg.deleted = true;
    this.#live.delete(seg);
    this.#diskBytes -= seg.size;
    this.#ledger?.forget(seg.id);
    this.#counters.segmentsDeleted++;
    rm(seg.path, { force: true }).then(
      () => this.#maybeResume(),
      (err: unknown) => this.#diskError('delete', err),
    );
  }

  #waitForData(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#dataWaiters = this.#dataWaiters.filter((w) => w !== wake);
        reject(signal!.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#dataWaiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #wakeConsumers(): void {
    if (this.#dataWaiters.length === 0) return;
    const waiters = this.#dataWaiters;
    this.#dataWaiters = [];
    for (const w of waiters) w();
  }

  ack(lease: Lease): void {
    const l = this.#outstanding.get(lease.id);
    if (l === undefined || l !== lease) {
      this.#counters.lateAcks++;
      return;
    }
    this.#outstanding.delete(l.id);
    this.#counters.ackedEvents += l.records.length;
    if (l.origin === 'mem') {
      this.#heldEvents -= l.records.length;
      this.#heldBytes -= l.bytes;
      this.#maybeResume();
    } else {
      const ledger = this.#ledger!;
      for (const s of l.slices) {
        if (ledger.ack(s.frame, s.from, s.to)) {
          s.frame.seg.openFrames--;
          this.#maybeDelete(s.frame.seg);
        }
      }
    }
    this.#settled();
  }

  nack(lease: Lease): void {
    const l = this.#outstanding.get(lease.id);
    if (l === undefined || l !== lease) {
      this.#counters.lateAcks++;
      return;
    }
    this.#outstanding.delete(l.id);
    this.#counters.nackedEvents += l.records.length;
    if (l.origin === 'disk') for (const s of l.slices) this.#ledger!.undeliver(s.frame, s.from, s.to);
    this.#requeue(l);
    this.#wakeConsumers();
    this.#settled();
  }

  #requeue(l: BufferLease): void {
    const item: RequeuedItem = {
      position: l.position,
      records: [...l.records],
      origin: l.origin,
      slices: [...l.slices],
      bytes: l.bytes,
    };
    let i = this.#requeued.length;
    while (i > 0 && this.#requeued[i - 1]!.position > item.position) i--;
    this.#requeued.splice(i, 0, item);
  }

  #settled(): void {
    if (this.#outstanding.size === 0) this.#outstandingEmpty?.();
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown persistence

  /**
   * Writes what is in memory to disk, in queue order. Memory that precedes disk data in the queue goes
   * to new segments whose `order` sorts just before that data's segment; memory after the last disk
   * data goes to new segments at the end.
   */
  async #persistMemory(): Promise<void> {
    type Item = { kind: 'mem'; records: BufferRecord[]; ms: number } | { kind: 'disk'; seg: Segment };
    const items: Item[] = [];
    for (const r of this.#requeued) {
      if (r.origin === 'mem') items.push({ kind: 'mem', records: r.records, ms: Date.now() });
      else if (r.slices.length > 0) items.push({ kind: 'disk', seg: r.slices[0]!.frame.seg });
    }
    for (const run of this.#runs) {
      if (run.kind === 'mem') {
        const records: BufferRecord[] = [];
        this.#ring.shiftInto(records, run.count);
        items.push({ kind: 'mem', records, ms: run.startedAtMs });
      } else if (run.remaining > 0 && run.firstSegment !== null) {
        // Memory before a disk run precedes all of it (positions of a run are contiguous), and every
        // disk run begins a segment: ordering before its first segment is exact.
        items.push({ kind: 'disk', seg: run.firstSegment });
      }
    }
    this.#requeued = [];
    this.#runs.length = 0;
    this.#closeWrites = true;
    let group: Array<{ records: BufferRecord[]; ms: number }> = [];
    for (const item of items) {
      if (item.kind === 'mem') {
        if (item.records.length > 0) group.push(item);
        continue;
      }
      if (group.length > 0) this.#writeGroup(group, item.seg);
      group = [];
    }
    if (group.length > 0) this.#writeGroup(group, null);
    this.#heldEvents = 0;
    this.#heldBytes = 0;
  }

  #writeGroup(group: Array<{ records: BufferRecord[]; ms: number }>, before: Segment | null): void {
    const writer = this.#writer!;
    this.#frameRun = null;
    writer.sealCurrent();
    if (before !== null) {
      let prev = before.order - 1;
      for (const s of this.#live) if (s.order < before.order && s.order > prev) prev = s.order;
      const step = (before.order - prev) / ORDER_STEPS;
      let k = 0;
      writer.orderOf = () => prev + ++k * step;
    }
    const max = this.#o.frame_max_bytes;
    let n = 0;
    for (const { records, ms } of group) {
      for (const r of records) {
        this.#builder.append(r, ms);
        if (this.#builder.rawLength >= max) this.#sealFrame();
      }
      n += records.length;
    }
    this.#sealFrame();
    writer.sealCurrent();
    writer.orderOf = null;
    this.#counters.spilledEvents.shutdown += n;
  }

  // ---------------------------------------------------------------------------------------------
  // Observability

  #diskError(op: string, err: unknown): void {
    bump(this.#counters.diskErrors, op);
    this.#log.error(`disk:${op}`, { op, err }, 'buffer disk operation failed');
  }

  #updateGauges(): void {
    const c = this.#counters;
    c.memoryEvents = this.#ring.size + this.#heldEvents;
    c.memoryBytes = this.#ring.bytes + this.#heldBytes;
    c.memoryFill = this.#fill();
    c.diskBytes = this.#diskBytes;
    c.diskSegments = this.#live.size;
    c.pendingWriteBytes = this.#writer?.pendingBytes ?? 0;
    c.outstandingLeases = this.#outstanding.size;
    c.spilling = this.#spilling;
    c.paused = this.#paused;
    let oldest: number | null = null;
    for (const s of this.#live) if (oldest === null || s.createdAtMs < oldest) oldest = s.createdAtMs;
    c.oldestSegmentMs = oldest;
  }

  stats(): BufferStats {
    this.#updateGauges();
    const c = this.#counters;
    const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
    let requeued = 0;
    for (const r of this.#requeued) requeued += r.records.length;
    return {
      state: this.#state,
      memoryEvents: c.memoryEvents,
      memoryBytes: c.memoryBytes,
      memoryFill: c.memoryFill,
      spilling: c.spilling,
      paused: c.paused,
      diskBytes: c.diskBytes,
      diskSegments: c.diskSegments,
      pendingWriteBytes: c.pendingWriteBytes,
      diskHealthy: this.#writer?.healthy ?? true,
      diskErrors: sum(c.diskErrors),
      outstandingLeases: c.outstandingLeases,
      requeuedEvents: requeued,
      acceptedMemoryEvents: c.acceptedEvents.memory,
      acceptedDiskEvents: c.acceptedEvents.disk,
      spilledEvents: c.spilledEvents.overflow,
      shutdownSpilledEvents: c.spilledEvents.shutdown,
      replayedEvents: c.replayedEvents,
      ackedEvents: c.ackedEvents,
      nackedEvents: c.nackedEvents,
      droppedEvents: sum(c.dropped),
      redeliveredAfterNack: c.redelivered.nack,
      redeliveredAfterCrash: c.redelivered.crash,
      corruptFrames: sum(c.corruptFrames),
      lostEvents: sum(c.lostEvents),
      lateAcks: c.lateAcks,
    };
  }
}
