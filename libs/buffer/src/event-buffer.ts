import {
  type BufferRecord,
  type Intake,
  type Lease,
  type LeaseSource,
  type OfferResult,
  SiemError,
} from '@siem/core';
import {
  type BufferContext,
  bufferContext,
  type EventBufferDeps,
  type EventBufferOptions,
} from './buffer-context.js';
import { recoverSpill } from './buffer-recovery.js';
import { type BufferState, type BufferStats, statsOf } from './buffer-stats.js';
import { DiskReader } from './disk-reader.js';
import { LeaseBook } from './leases.js';
import type { AckLedger } from './ledger.js';
import { type BufferCounters, bump, trackCounters } from './metrics.js';
import { checkBufferOptions } from './options.js';
import type { Run } from './queue-runs.js';
import { RecordRing } from './record-ring.js';
import { Spill } from './spill.js';

export type { EventBufferDeps, EventBufferOptions } from './buffer-context.js';
export type { BufferState, BufferStats } from './buffer-stats.js';

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
 *
 * **Parts.** This class owns admission (memory, disk, pause or reject), the queue of runs and the
 * lifecycle; the rest is delegated: reading an earlier run's directory back (buffer-recovery.ts),
 * frames and segment files (spill.ts), replay of disk runs (disk-reader.ts), leases out and nacked
 * (leases.ts).
 */
export class EventBuffer implements Intake, LeaseSource {
  readonly #o: EventBufferOptions;
  readonly #ctx: BufferContext;
  readonly #counters: BufferCounters;
  readonly #ring: RecordRing;
  readonly #leases: LeaseBook;
  readonly #spill: Spill;
  readonly #reader: DiskReader;
  readonly #journalCompactBytes: number | undefined;
  #state: BufferState = 'new';
  #rejectReason = 'none';
  #ledger: AckLedger | null = null;
  // The queue: requeued leases first (in the lease book, by position), then runs.
  readonly #runs: Run[] = [];
  #tail: Run | null = null;
  // Memory held outside the ring (handed out or requeued, from memory).
  #heldEvents = 0;
  #heldBytes = 0;
  #spilling = false;
  #paused = false;
  #resumeScheduled = false;
  readonly #resumeListeners = new Set<() => void>();
  // Consumers.
  #consumerTail: Promise<unknown> = Promise.resolve();
  #dataWaiters: Array<() => void> = [];
  #closing: Promise<void> | null = null;
  #opening: Promise<void> | null = null;

  constructor(options: EventBufferOptions, deps: EventBufferDeps = {}) {
    checkBufferOptions({ ...options, dir: options.dir });
    this.#o = options;
    this.#ctx = bufferContext(options, deps);
    this.#counters = this.#ctx.counters;
    this.#ring = new RecordRing(options.max_events);
    this.#leases = new LeaseBook(this.#counters);
    this.#spill = new Spill(this.#ctx, {
      onSegment: (seg) => this.#reader.add(seg),
      onProgress: () => this.#maybeResume(),
      isClosed: () => this.#state === 'closed',
    });
    this.#reader = new DiskReader(this.#ctx, this.#spill, this.#leases);
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
    const { ledger, kept, maxId } = await recoverSpill(this.#ctx, this.#journalCompactBytes);
    this.#ledger = ledger;
    this.#spill.start(ledger, kept, maxId);
    // Folds the journal into a fresh snapshot. On a full disk this fails: the journal still holds the
    // same facts, so the start goes on (a full disk must never stop the buffer from starting).
    await ledger.snapshot(false).catch((err: unknown) => this.#ctx.diskError('ledger', err));
    this.#reader.start(ledger, kept);
    if (kept.length > 0)
      this.#pushRun({
        kind: 'disk',
        remaining: Number.POSITIVE_INFINITY,
        old: true,
        firstSegment: kept[0]!,
        queued: false,
      });
    this.#spill.startSyncTimer();
    const c = this.#counters;
    c.refresh = () => this.#updateGauges();
    trackCounters(c);
    this.#state = 'open';
    this.#updateGauges();
    this.#wakeConsumers();
    if (kept.length > 0) {
      this.#ctx.logger.info(
        { dir: this.#o.dir, segments: kept.length, bytes: this.#spill.diskBytes },
        'replaying events kept on disk by an earlier run',
      );
    }
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
    if (this.#leases.outstanding > 0 && this.#o.close_drain_ms > 0) {
      await this.#leases.drain(this.#o.close_drain_ms);
    }
    // Leases still out are taken back: acks arriving later are ignored (their events repeat next run).
    this.#leases.takeBackAll();
    this.#spill.clearLinger();
    this.#spill.sealFrame();
    try {
      this.#spill.persistQueue(this.#leases.drainRequeued(), this.#runs, this.#ring);
      this.#runs.length = 0;
      this.#heldEvents = 0;
      this.#heldBytes = 0;
      const lost = await this.#spill.writer!.close();
      if (lost > 0) {
        bump(this.#counters.lostEvents, 'shutdown_disk_error', lost);
        this.#ctx.logger.error(
          { lost },
          'disk kept failing at shutdown: events that were only in memory are lost',
        );
      }
      await this.#ledger!.flush();
      await this.#ledger!.snapshot(true);
    } catch (err) {
      this.#ctx.diskError('close', err);
      this.#ctx.logger.error({ err }, 'buffer could not persist everything at shutdown');
    } finally {
      await this.#stopIo();
      this.#state = 'closed';
      this.#updateGauges();
      this.#counters.refresh = null;
    }
    this.#ctx.logger.info(
      { dir: this.#o.dir, segments: this.#spill.segments, bytes: this.#spill.diskBytes },
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
    this.#spill.clearLinger();
    this.#leases.dropOutstanding();
    await this.#spill.writer?.abandon();
    await this.#ledger?.abandon();
    await this.#stopIo();
  }

  async #stopIo(): Promise<void> {
    this.#spill.stopSyncTimer();
    await this.#ledger?.close();
    await this.#reader.close();
  }

  /**
   * Seals the frame being filled and resolves once every event spilled so far is written to its
   * segment file (so it survives a process crash); with `sync`, also fdatasync'ed (survives power loss).
   */
  async flush(options: { sync?: boolean } = {}): Promise<void> {
    const writer = this.#spill.writer;
    if (writer === null || this.#state !== 'open') return;
    this.#spill.sealFrame();
    await writer.drained();
    if (options.sync) await this.#spill.syncNow();
  }

  // ---------------------------------------------------------------------------------------------
  // Intake (admission: memory, disk, pause or reject)

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
    if (this.#spill.accepts(bytes + 8 * n)) {
      this.#toDisk(records, bytes);
      if (o.when_full === 'block' && !this.#spill.accepts(0)) return this.#pause();
      return 'ok';
    }
    // The disk cannot take it: the band above the high watermark.
    if (events + n <= o.max_events && mbytes + bytes <= o.max_memory_bytes) {
      this.#toMemory(records, bytes);
      return o.when_full === 'block' ? this.#pause() : 'ok';
    }
    return this.#reject('full', n);
  }

  /**
   * Durable intake (sources with `ack: durable`): the records go to the spill segment whatever the
   * memory fill, in queue order, and the promise resolves once they are written and fdatasync'ed, so
   * an acknowledgement sent after it survives SIGKILL and power loss. Concurrent calls share the
   * writes and syncs of one flush where they overlap. Rejected ('disk_full') when the disk cannot
   * take them: a durable source must not acknowledge what only memory holds.
   */
  async offerDurable(records: BufferRecord[]): Promise<OfferResult> {
    const n = records.length;
    if (this.#state !== 'open') return this.#reject('closed', n);
    if (n === 0) return 'ok';
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += records[i]!.key.length + records[i]!.value.length;
    if (!this.#spill.accepts(bytes + 8 * n)) return this.#reject('disk_full', n);
    this.#toDisk(records, bytes, 'durable');
    const result: OfferResult =
      this.#o.when_full === 'block' && !this.#spill.accepts(0) ? this.#pause() : 'ok';
    await this.flush({ sync: true });
    if (this.#state !== 'open' && this.#state !== 'closing') return this.#reject('closed', n);
    return result;
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

  #fill(): number {
    return Math.max(
      (this.#ring.size + this.#heldEvents) / this.#o.max_events,
      (this.#ring.bytes + this.#heldBytes) / this.#o.max_memory_bytes,
    );
  }

  #maybeResume(): void {
    if (!this.#paused || this.#spill.writer === null) return;
    if (!this.#spill.accepts(0) && this.#fill() > this.#o.low_watermark) return;
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
        this.#spill.clearLinger();
        this.#spill.sealFrame();
        this.#spill.sealSegment();
      }
      this.#pushRun({ kind: 'mem', count: records.length, startedAtMs: Date.now(), queued: false });
    }
    this.#wakeConsumers();
  }

  #toDisk(records: BufferRecord[], bytes: number, reason: 'overflow' | 'durable' = 'overflow'): void {
    let run = this.#tail;
    if (run === null || run.kind !== 'disk' || run.old) {
      // Every disk run starts a segment of its own, so memory written at shutdown can be ordered
      // before it without splitting a segment.
      this.#spill.sealFrame();
      this.#spill.sealSegment();
      run = { kind: 'disk', remaining: 0, old: false, firstSegment: null, queued: false };
      this.#pushRun(run);
    } else if (!run.queued) {
      this.#pushRun(run);
    }
    this.#spill.write(records, run);
    run.remaining += records.length;
    const c = this.#counters;
    c.acceptedEvents.disk += records.length;
    c.acceptedBytes.disk += bytes;
    c.spilledEvents[reason] += records.length;
    c.spillOriginalBytes += bytes;
    this.#wakeConsumers();
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
      if (this.#leases.hasRequeued) {
        const lease = this.#leases.takeRequeued(max);
        if (lease.slices.length > 0) await this.#reader.journalDelivery(lease.slices);
        return lease;
      }
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
        return this.#leases.hand(records, 'mem', [], bytes);
      }
      const lease = await this.#reader.take(run, max);
      if (run.remaining <= 0 && this.#runs[0] === run) this.#shiftRun();
      if (lease !== null) return lease;
    }
  }

  #shiftRun(): void {
    const run = this.#runs.shift();
    if (run !== undefined) run.queued = false;
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
    const l = this.#leases.settle(lease);
    if (l === null) return;
    this.#counters.ackedEvents += l.records.length;
    if (l.origin === 'mem') {
      this.#heldEvents -= l.records.length;
      this.#heldBytes -= l.bytes;
      this.#maybeResume();
    } else {
      this.#reader.ack(l.slices);
    }
    this.#leases.settled();
  }

  nack(lease: Lease): void {
    const l = this.#leases.settle(lease);
    if (l === null) return;
    this.#counters.nackedEvents += l.records.length;
    if (l.origin === 'disk') this.#reader.undeliver(l.slices);
    this.#leases.requeue(l);
    this.#wakeConsumers();
    this.#leases.settled();
  }

  // ---------------------------------------------------------------------------------------------
  // Observability

  #updateGauges(): void {
    const c = this.#counters;
    const spill = this.#spill;
    c.memoryEvents = this.#ring.size + this.#heldEvents;
    c.memoryBytes = this.#ring.bytes + this.#heldBytes;
    c.memoryFill = this.#fill();
    c.diskBytes = spill.diskBytes;
    c.diskSegments = spill.segments;
    c.pendingWriteBytes = spill.writer?.pendingBytes ?? 0;
    c.outstandingLeases = this.#leases.outstanding;
    c.spilling = this.#spilling;
    c.paused = this.#paused;
    c.oldestSegmentMs = spill.oldestSegmentMs();
  }

  stats(): BufferStats {
    this.#updateGauges();
    const diskHealthy = this.#spill.writer?.healthy ?? true;
    return statsOf(this.#state, this.#counters, diskHealthy, this.#leases.requeuedEvents());
  }
}
