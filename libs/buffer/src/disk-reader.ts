import { createReadStream, createWriteStream } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BufferRecord } from '@siem/core';
import type { BufferContext } from './buffer-context.js';
import { SEGMENT_HEADER_SIZE, segmentFileName } from './format.js';
import type { BufferLease, FrameRef, LeaseBook, Slice } from './leases.js';
import type { AckLedger } from './ledger.js';
import { bump } from './metrics.js';
import type { DiskRun } from './queue-runs.js';
import type { RangeSet } from './range-set.js';
import { SegmentFileReader } from './segment-reader.js';
import type { Segment } from './segment-writer.js';
import type { Spill } from './spill.js';

interface CurrentFrame {
  frame: FrameRef;
  records: BufferRecord[];
  /** Indexes not handed out yet, as flat ranges. */
  pending: number[];
}

const TRANSIENT_ERRORS = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM', 'EINTR']);

async function moveTailAside(path: string, from: number, to: number, dest: string): Promise<void> {
  await pipeline(createReadStream(path, { start: from, end: to - 1 }), createWriteStream(dest));
}

/**
 * Reads the queue's disk runs back, frame by frame, as consumers ask: segments in order, a frame not
 * written yet taken from the writer's queue, frames an earlier run saw acked skipped, the acked events
 * of a partly acked frame left out. A damaged frame of this run is skipped and counted; damage in a
 * segment of an earlier run cuts it there (the rest moved to `corrupt/`); a read that keeps failing
 * gives up the rest of the segment. Disk leases are journaled as delivered before they are handed out,
 * and their acks recorded in the ledger, frame by frame.
 */
export class DiskReader {
  readonly #ctx: BufferContext;
  readonly #spill: Spill;
  readonly #leases: LeaseBook;
  #ledger: AckLedger | null = null;
  #segs: Segment[] = [];
  #idx = 0;
  #off = SEGMENT_HEADER_SIZE;
  #file: { seg: Segment; reader: SegmentFileReader } | null = null;
  #cur: CurrentFrame | null = null;

  constructor(ctx: BufferContext, spill: Spill, leases: LeaseBook) {
    this.#ctx = ctx;
    this.#spill = spill;
    this.#leases = leases;
  }

  /** Starts with the segments kept by an earlier run, in order. */
  start(ledger: AckLedger, kept: Segment[]): void {
    this.#ledger = ledger;
    this.#segs = kept;
  }

  /** A segment started by this run, read after every segment before it. */
  add(seg: Segment): void {
    this.#segs.push(seg);
  }

  /** Up to `max` events of `run`, the queue's head run, as a lease; null when the run has no more. */
  async take(run: DiskRun, max: number): Promise<BufferLease | null> {
    const records: BufferRecord[] = [];
    const slices: Slice[] = [];
    while (records.length < max && run.remaining > 0) {
      let cur = this.#cur;
      if (cur === null || cur.pending.length === 0) {
        this.#cur = null;
        cur = await this.#nextFrame(run);
        if (cur === null) {
          if (!run.old && run.remaining > 0) {
            this.#ctx.logger.error({ remaining: run.remaining }, 'disk run ended early; its events are lost');
            bump(this.#ctx.counters.lostEvents, 'missing', run.remaining);
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
    await this.journalDelivery(slices);
    return this.#leases.hand(records, 'disk', slices, 0);
  }

  /**
   * Journals that disk events are being handed to the sink, and waits until the entries are written:
   * after a crash, every event that may have reached the sink without its ack being recorded is known
   * and counted as redelivered.
   */
  async journalDelivery(slices: readonly Slice[]): Promise<void> {
    const ledger = this.#ledger!;
    for (const s of slices) ledger.deliver(s.frame, s.from, s.to);
    await ledger.flush();
  }

  /** Records the ack of a disk lease; a frame fully acked lets its segment go. */
  ack(slices: readonly Slice[]): void {
    const ledger = this.#ledger!;
    for (const s of slices) {
      if (ledger.ack(s.frame, s.from, s.to)) {
        s.frame.seg.openFrames--;
        this.#spill.maybeDelete(s.frame.seg);
      }
    }
  }

  /** A disk lease was nacked: its events are no longer out (they go out again from the requeue). */
  undeliver(slices: readonly Slice[]): void {
    for (const s of slices) this.#ledger!.undeliver(s.frame, s.from, s.to);
  }

  async close(): Promise<void> {
    await this.#file?.reader.close();
    this.#file = null;
    this.#cur = null;
  }

  async #readerFor(seg: Segment): Promise<SegmentFileReader> {
    if (this.#file?.seg === seg) return this.#file.reader;
    await this.#file?.reader.close();
    this.#file = null;
    const reader = await SegmentFileReader.open(seg.path, seg.written);
    this.#file = { seg, reader };
    return reader;
  }

  /** The next frame of the queue's head disk run, or null when the run has no more frames. */
  async #nextFrame(run: DiskRun): Promise<CurrentFrame | null> {
    const c = this.#ctx.counters;
    const spill = this.#spill;
    let readFailures = 0;
    for (;;) {
      const seg = this.#segs[this.#idx];
      if (seg === undefined) {
        if (!run.old && spill.hasOpenFrame) {
          spill.sealFrame();
          continue;
        }
        return null;
      }
      if (seg.old !== run.old) return null;
      const off = this.#off;
      if (off >= seg.size) {
        if (!seg.sealed) {
          if (spill.hasOpenFrame) {
            spill.sealFrame();
            if (seg.size > off || seg.sealed) continue;
          }
          return null;
        }
        await this.#finishReading(seg);
        this.#idx++;
        this.#off = SEGMENT_HEADER_SIZE;
        if (this.#idx > 256) {
          this.#segs = this.#segs.slice(this.#idx);
          this.#idx = 0;
        }
        continue;
      }
      const queued = seg.queued.get(off);
      if (queued !== undefined) {
        this.#off = off + queued.size;
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
        await this.#file?.reader.close();
        this.#file = null;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (TRANSIENT_ERRORS.has(code) && readFailures < 30) {
          // Out of descriptors or memory for a moment: wait and read again rather than give data up.
          readFailures++;
          this.#ctx.diskError('read', err);
          await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * readFailures)));
          continue;
        }
        await this.#abandonSegmentTail(seg, off, err, run);
        continue;
      }
      if (read.kind === 'frame') {
        this.#off = off + read.size;
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
          this.#ctx.logger.error({ segment: seg.id, offset: off }, 'segment ended before its known size');
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
        this.#ctx.log.error(
          `corrupt:${seg.id}`,
          { segment: seg.id, offset: off, reason: read.reason },
          'frame damaged on disk; skipped',
        );
        seg.frames!.delete(off);
        this.#off = off + known.size;
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
    const { counters: c, logger } = this.#ctx;
    const end = off + read.bytes;
    if (read.kind === 'torn') {
      bump(c.corruptFrames, 'torn_tail');
      bump(c.corruptBytes, 'torn_tail', read.bytes);
      logger.warn(
        { segment: seg.id, offset: off, bytes: read.bytes, reason: read.reason },
        'torn tail skipped (an interrupted write)',
      );
    } else {
      bump(c.corruptFrames, 'checksum');
      bump(c.corruptBytes, 'checksum', read.bytes);
      logger.error(
        { segment: seg.id, offset: off, bytes: read.bytes, reason: read.reason },
        'segment damaged: the rest of it is moved to corrupt/ and not replayed',
      );
      await moveTailAside(
        seg.path,
        off,
        end,
        join(this.#ctx.corruptDir, `${Date.now()}-${segmentFileName(seg.id)}.at-${off}.bad`),
      ).catch((err: unknown) => this.#ctx.diskError('read', err));
    }
    try {
      await this.#file?.reader.close();
      this.#file = null;
      if (seg.old) await truncate(seg.path, off);
    } catch (err) {
      this.#ctx.diskError('write', err);
    }
    this.#spill.cutAt(seg, off);
    seg.written = Math.min(seg.written, off);
  }

  /** A read failed outright (EIO, file gone): give up the rest of the segment rather than retry forever. */
  async #abandonSegmentTail(seg: Segment, off: number, err: unknown, run: DiskRun): Promise<void> {
    this.#ctx.diskError('read', err);
    this.#ctx.logger.error(
      { segment: seg.id, offset: off, err },
      'segment unreadable from here; the rest is skipped',
    );
    if (!seg.old && seg.frames !== null) {
      let lost = 0;
      for (const [o, f] of seg.frames) if (o >= off) lost += f.count;
      bump(this.#ctx.counters.lostEvents, 'unreadable', lost);
      if (!run.old) run.remaining = Math.max(0, run.remaining - lost);
      seg.frames.clear();
    }
    const writer = this.#spill.writer;
    if (!seg.sealed && writer?.current === seg) writer.sealCurrent();
    this.#spill.cutAt(seg, off);
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
    if (this.#file?.seg === seg) {
      await this.#file.reader.close();
      this.#file = null;
    }
    this.#spill.maybeDelete(seg);
  }
}
