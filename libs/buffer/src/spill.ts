import { rm } from 'node:fs/promises';
import type { BufferRecord } from '@siem/core';
import type { BufferContext, EventBufferOptions } from './buffer-context.js';
import { FrameBuilder, SEGMENT_HEADER_SIZE } from './format.js';
import type { RequeuedItem } from './leases.js';
import type { AckLedger } from './ledger.js';
import { bump } from './metrics.js';
import type { DiskRun, Run } from './queue-runs.js';
import type { RecordRing } from './record-ring.js';
import { type Segment, SegmentWriter } from './segment-writer.js';

/** What the buffer writes at close, in queue order: memory events, or the disk data they precede. */
type PersistItem = { kind: 'mem'; records: BufferRecord[]; ms: number } | { kind: 'disk'; seg: Segment };

export interface SpillHooks {
  /** A segment was started while the buffer runs: it has events to read. */
  onSegment(seg: Segment): void;
  /** Disk room may have come back (a write completed, a segment was deleted). */
  onProgress(): void;
  /** The buffer is closed: what is on disk stays for the next start. */
  isClosed(): boolean;
}

/** Spaces the `order` of segments written at close between two existing ones. */
const ORDER_STEPS = 65_536;

/**
 * The disk side of the buffer: spilled events are appended to a frame, compressed when the frame is
 * full or spill_linger_ms after its first event, and queued to the segment writer. Tracks the live
 * segment files and their bytes (the disk cap), deletes a segment once it is written, read to its
 * end and every frame of it acked, and fdatasyncs on the sync interval. At close, writes the memory
 * the buffer still holds into segments ordered where it sat in the queue.
 */
export class Spill {
  readonly #ctx: BufferContext;
  readonly #o: EventBufferOptions;
  readonly #hooks: SpillHooks;
  readonly #builder: FrameBuilder;
  readonly #live = new Set<Segment>();
  #ledger: AckLedger | null = null;
  #writer: SegmentWriter | null = null;
  #diskBytes = 0;
  /** The run whose events are in the frame being filled (it learns its first segment on seal). */
  #frameRun: DiskRun | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #syncTimer: NodeJS.Timeout | null = null;
  #syncing = false;
  /** Set at close: segments written from then on hold persisted memory, not events to read now. */
  #closeWrites = false;

  constructor(ctx: BufferContext, hooks: SpillHooks) {
    this.#ctx = ctx;
    this.#o = ctx.options;
    this.#hooks = hooks;
    this.#builder = new FrameBuilder(ctx.options.zstd_level, ctx.options.frame_max_bytes);
  }

  /** Null until the buffer is open. */
  get writer(): SegmentWriter | null {
    return this.#writer;
  }

  get diskBytes(): number {
    return this.#diskBytes;
  }

  get segments(): number {
    return this.#live.size;
  }

  /** Events waiting in the frame being filled. */
  get hasOpenFrame(): boolean {
    return this.#builder.count > 0;
  }

  oldestSegmentMs(): number | null {
    let oldest: number | null = null;
    for (const s of this.#live) if (oldest === null || s.createdAtMs < oldest) oldest = s.createdAtMs;
    return oldest;
  }

  /** Takes the segments kept by an earlier run and starts the writer with ids after every file seen. */
  start(ledger: AckLedger, kept: readonly Segment[], maxId: number): void {
    const c = this.#ctx.counters;
    this.#ledger = ledger;
    for (const seg of kept) {
      this.#live.add(seg);
      this.#diskBytes += seg.size;
    }
    this.#writer = new SegmentWriter(
      {
        dir: this.#o.dir,
        corruptDir: this.#ctx.corruptDir,
        segmentMaxBytes: this.#o.segment_max_bytes,
        syncEveryWrite: this.#o.sync_interval_ms === 0,
      },
      {
        onSegment: (seg) => {
          this.#live.add(seg);
          this.#diskBytes += SEGMENT_HEADER_SIZE;
          if (this.#ledger !== null)
            this.#ledger.nextSegmentId = Math.max(this.#ledger.nextSegmentId, seg.id + 1);
          if (!this.#closeWrites) this.#hooks.onSegment(seg);
        },
        onProgress: () => this.#hooks.onProgress(),
        onSegmentDone: (seg) => this.maybeDelete(seg),
        onError: (op, err) => this.#ctx.diskError(op, err),
        onConflict: (path) => {
          bump(c.corruptFrames, 'id_conflict');
          this.#ctx.logger.error({ path }, 'a file was in the way of a new segment; moved to corrupt/');
        },
      },
    );
    this.#writer.nextId = Math.max(ledger.nextSegmentId, maxId + 1);
    ledger.nextSegmentId = this.#writer.nextId;
  }

  /** Whether `bytes` more can be spilled now: the writer is healthy, under the disk and pending caps. */
  accepts(bytes: number): boolean {
    const w = this.#writer!;
    const open = this.#builder.rawLength;
    return (
      w.healthy &&
      this.#diskBytes + open + bytes <= this.#o.max_disk_bytes &&
      w.pendingBytes + open <= this.#o.max_pending_write_bytes
    );
  }

  /** Appends events of `run` to the frame being filled; it is written within spill_linger_ms. */
  write(records: BufferRecord[], run: DiskRun): void {
    this.#frameRun = run;
    const builder = this.#builder;
    const now = Date.now();
    const max = this.#o.frame_max_bytes;
    for (let i = 0; i < records.length; i++) {
      builder.append(records[i]!, now);
      if (builder.rawLength >= max) this.sealFrame();
    }
    if (builder.count > 0 && this.#lingerTimer === null) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = null;
        this.sealFrame();
      }, this.#o.spill_linger_ms);
      this.#lingerTimer.unref();
    }
  }

  /** Compresses the frame being filled and queues it for writing. */
  sealFrame(): void {
    if (this.#builder.count === 0 || this.#writer === null) return;
    const frame = this.#builder.seal();
    const { segment } = this.#writer.append(frame);
    this.#diskBytes += frame.size;
    this.#ctx.counters.spillCompressedBytes += frame.size;
    const run = this.#frameRun;
    if (run !== null && run.firstSegment === null) run.firstSegment = segment;
    if (this.#builder.count === 0) this.clearLinger();
  }

  /** Finishes the segment being written: the next frame starts a new one. */
  sealSegment(): void {
    this.#writer!.sealCurrent();
  }

  clearLinger(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
  }

  /** The segment ends at `off` (damaged or unreadable beyond): its bytes past it no longer count. */
  cutAt(seg: Segment, off: number): void {
    this.#diskBytes -= Math.max(0, seg.size - off);
    seg.size = off;
  }

  /** Deletes `seg` once it is written, read to its end and every frame of it acked. */
  maybeDelete(seg: Segment): void {
    if (!seg.readDone || seg.openFrames > 0 || !seg.sealed || !seg.writerDone || seg.deleted) return;
    if (this.#hooks.isClosed()) return;
    seg.deleted = true;
    this.#live.delete(seg);
    this.#diskBytes -= seg.size;
    this.#ledger?.forget(seg.id);
    this.#ctx.counters.segmentsDeleted++;
    rm(seg.path, { force: true }).then(
      () => this.#hooks.onProgress(),
      (err: unknown) => this.#ctx.diskError('delete', err),
    );
  }

  startSyncTimer(): void {
    if (this.#o.sync_interval_ms > 0) {
      this.#syncTimer = setInterval(() => void this.syncNow(), this.#o.sync_interval_ms);
      this.#syncTimer.unref();
    }
  }

  stopSyncTimer(): void {
    if (this.#syncTimer !== null) clearInterval(this.#syncTimer);
    this.#syncTimer = null;
  }

  async syncNow(): Promise<void> {
    if (this.#syncing || this.#writer === null || this.#ledger === null) return;
    this.#syncing = true;
    try {
      await this.#writer.sync();
      await this.#ledger.sync().catch((err: unknown) => this.#ctx.diskError('sync', err));
    } finally {
      this.#syncing = false;
    }
  }

  /**
   * Writes what the buffer holds in memory at close to disk, in queue order: the requeued leases, then
   * the runs. Memory that precedes disk data in the queue goes to new segments whose `order` sorts just
   * before that data's segment; memory after the last disk data goes to new segments at the end.
   */
  persistQueue(requeued: readonly RequeuedItem[], runs: readonly Run[], ring: RecordRing): void {
    const items: PersistItem[] = [];
    for (const r of requeued) {
      if (r.origin === 'mem') items.push({ kind: 'mem', records: r.records, ms: Date.now() });
      else if (r.slices.length > 0) items.push({ kind: 'disk', seg: r.slices[0]!.frame.seg });
    }
    for (const run of runs) {
      if (run.kind === 'mem') {
        const records: BufferRecord[] = [];
        ring.shiftInto(records, run.count);
        items.push({ kind: 'mem', records, ms: run.startedAtMs });
      } else if (run.remaining > 0 && run.firstSegment !== null) {
        // Memory before a disk run precedes all of it (positions of a run are contiguous), and every
        // disk run begins a segment: ordering before its first segment is exact.
        items.push({ kind: 'disk', seg: run.firstSegment });
      }
    }
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
        if (this.#builder.rawLength >= max) this.sealFrame();
      }
      n += records.length;
    }
    this.sealFrame();
    writer.sealCurrent();
    writer.orderOf = null;
    this.#ctx.counters.spilledEvents.shutdown += n;
  }
}
