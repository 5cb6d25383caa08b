import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SEGMENT_HEADER_SIZE } from './format.js';
import { RangeSet } from './range-set.js';

/**
 * The acknowledgement ledger: which events of which on-disk frames were delivered, so that a restart
 * replays only what was not. Two files:
 *
 * - `ledger.json`, a snapshot, replaced atomically (write `ledger.json.tmp`, fsync, rename, fsync the
 *   directory): a crash leaves either the old or the new snapshot, never a torn one.
 * - `journal.bin`, an append-only log of fixed 40-byte entries, each with its own crc32, written as acks
 *   happen and emptied after each snapshot. A torn last entry fails its checksum and is ignored.
 *   Entries: ack (events of a frame delivered), deliver (handed to the sink: written before the sink
 *   sees them) and nack (handed back). After a crash, delivered-but-not-acked events are the ones that
 *   may reach the sink twice: they are counted as redelivered.
 *
 * Entries are idempotent (adding a range twice changes nothing), so a crash between the snapshot's
 * rename and the journal's truncation only re-applies what the snapshot already holds.
 *
 * The ledger never claims that a segment file exists: the directory listing is the truth about
 * segments, the ledger only about acks. A segment deleted before the ledger forgot it is ignored; a
 * segment the ledger does not know is replayed whole; an entry whose nonce differs from the segment's
 * (an id reused after a lost ledger) does not apply. None of these can stop a start.
 */

export const LEDGER_FILE = 'ledger.json';
export const JOURNAL_FILE = 'journal.bin';
const LEDGER_FORMAT = 'siem-buffer-ledger';
const LEDGER_VERSION = 1;
const ENTRY_SIZE = 40;
const ENTRY_DELIVER = 1;
const ENTRY_ACK = 2;
const ENTRY_NACK = 3;

/** A frame on disk, as the ledger identifies it. */
export interface FrameKey {
  segment: number;
  nonce: number;
  offset: number;
  /** Frame bytes on disk (header + payload): the offset of the next frame is offset + size. */
  size: number;
  count: number;
}

interface PartialFrame {
  size: number;
  count: number;
  acked: RangeSet;
}

/** Ack state of one segment. Frames are contiguous, so "every frame before doneBelow is done" is exact. */
export class SegmentAcks {
  readonly id: number;
  readonly nonce: number;
  doneBelow = SEGMENT_HEADER_SIZE;
  /** Done frames at or beyond doneBelow: offset → size. */
  readonly done = new Map<number, number>();
  readonly partial = new Map<number, PartialFrame>();

  constructor(id: number, nonce: number) {
    this.id = id;
    this.nonce = nonce;
  }

  isDone(offset: number): boolean {
    return offset < this.doneBelow || this.done.has(offset);
  }

  /** The acked events of a frame not yet done (null when none). */
  ackedOf(offset: number): RangeSet | null {
    return this.partial.get(offset)?.acked ?? null;
  }

  /** Adds acked events `[from, to)`; returns true when the frame became done by it. */
  ack(offset: number, size: number, count: number, from: number, to: number): boolean {
    if (this.isDone(offset)) return false;
    let p = this.partial.get(offset);
    if (p === undefined) {
      p = { size, count, acked: new RangeSet() };
      this.partial.set(offset, p);
    }
    p.acked.add(from, to);
    if (!p.acked.covers(0, count)) return false;
    this.markDone(offset, size);
    return true;
  }

  markDone(offset: number, size: number): void {
    this.partial.delete(offset);
    if (offset < this.doneBelow) return;
    this.done.set(offset, size);
    let next = this.done.get(this.doneBelow);
    while (next !== undefined) {
      this.done.delete(this.doneBelow);
      this.doneBelow += next;
      next = this.done.get(this.doneBelow);
    }
  }
}

interface SnapshotSegment {
  id: number;
  nonce: number;
  done_below: number;
  done: number[];
  partial: Array<[number, number, number, number[]]>;
}

interface Snapshot {
  format: string;
  version: number;
  clean: boolean;
  next_segment_id: number;
  written_at: string;
  segments: SnapshotSegment[];
}

/** Events handed out from a frame before a crash whose ack never reached the journal. */
export interface UnackedDelivery {
  segment: number;
  nonce: number;
  offset: number;
  events: number;
}

export interface LedgerLoadReport {
  /** The previous run did not end with a clean close (or the ledger was lost). */
  unclean: boolean;
  /** The snapshot could not be read or parsed (it is moved aside). */
  snapshotCorrupt: boolean;
  /** The journal could not be read (it is moved aside). */
  journalUnreadable: boolean;
  /** Journal entries that failed their checksum (a torn tail), ignored. */
  journalTornEntries: number;
  unackedDeliveries: UnackedDelivery[];
}

export interface LedgerHooks {
  /** A journal write failed (the entries are lost: after a crash their events are delivered again). */
  onWriteError(err: unknown): void;
  /** The journal grew past its compaction size: the owner should take a snapshot. */
  onCompactionDue(): void;
}

function encodeEntry(type: number, f: FrameKey, from: number, to: number): Buffer {
  const b = Buffer.alloc(ENTRY_SIZE);
  b.writeUInt8(type, 0);
  b.writeUInt32LE(f.segment, 4);
  b.writeUInt32LE(f.nonce >>> 0, 8);
  b.writeUInt32LE(f.offset, 12);
  b.writeUInt32LE(f.size, 16);
  b.writeUInt32LE(f.count, 20);
  b.writeUInt32LE(from, 24);
  b.writeUInt32LE(to, 28);
  b.writeUInt32LE(crc32(b.subarray(0, 36)), 36);
  return b;
}

async function fsyncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await open(dir, fsConstants.O_RDONLY);
    await h.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await h?.close();
  }
}

export class AckLedger {
  readonly #dir: string;
  readonly #hooks: LedgerHooks;
  readonly #compactBytes: number;
  readonly #segments = new Map<number, SegmentAcks>();
  #journal: FileHandle | null = null;
  #pending: Buffer[] = [];
  #appendedSeq = 0;
  #writtenSeq = 0;
  #waiters: Array<{ seq: number; resolve: () => void }> = [];
  #writing: Promise<void> | null = null;
  #snapshotting: Promise<void> | null = null;
  #journalBytes = 0;
  #dirty = false;
  #compactionRequested = false;
  nextSegmentId = 1;

  private constructor(dir: string, hooks: LedgerHooks, compactBytes: number) {
    this.#dir = dir;
    this.#hooks = hooks;
    this.#compactBytes = compactBytes;
  }

  /** Loads snapshot + journal. Never throws for bad content: a bad snapshot is moved to `corruptDir`. */
  static async open(
    dir: string,
    corruptDir: string,
    hooks: LedgerHooks,
    compactBytes = 8 * 1024 * 1024,
  ): Promise<{ ledger: AckLedger; report: LedgerLoadReport }> {
    await rm(join(dir, `${LEDGER_FILE}.tmp`), { force: true }).catch(() => undefined);
    const { ledger, report, journalLength } = await AckLedger.#load(dir, hooks, compactBytes);
    if (report.snapshotCorrupt) {
      await rename(join(dir, LEDGER_FILE), join(corruptDir, `ledger-${Date.now()}.json`)).catch(() =>
        rm(join(dir, LEDGER_FILE), { force: true }).catch(() => undefined),
      );
    }
    if (report.journalUnreadable) {
      await rename(join(dir, JOURNAL_FILE), join(corruptDir, `journal-${Date.now()}.bin`)).catch(() =>
        rm(join(dir, JOURNAL_FILE), { force: true }).catch(() => undefined),
      );
    }
    ledger.#journal = await open(join(dir, JOURNAL_FILE), 'a');
    ledger.#journalBytes = journalLength;
    return { ledger, report };
  }

  /** Reads the ledger without changing anything on disk (for `siem buffer inspect`). */
  static async read(dir: string): Promise<{ ledger: AckLedger; report: LedgerLoadReport; present: boolean }> {
    const noop: LedgerHooks = { onWriteError: () => undefined, onCompactionDue: () => undefined };
    const { ledger, report, present } = await AckLedger.#load(dir, noop, Number.POSITIVE_INFINITY);
    return { ledger, report, present };
  }

  static async #load(
    dir: string,
    hooks: LedgerHooks,
    compactBytes: number,
  ): Promise<{ ledger: AckLedger; report: LedgerLoadReport; journalLength: number; present: boolean }> {
    const ledger = new AckLedger(dir, hooks, compactBytes);
    const report: LedgerLoadReport = {
      unclean: false,
      snapshotCorrupt: false,
      journalUnreadable: false,
      journalTornEntries: 0,
      unackedDeliveries: [],
    };
    // Unreadable files (EIO, …) are treated like damaged ones: the start goes on without them.
    let text: string | null = null;
    let snapshotUnreadable = false;
    try {
      text = await readFile(join(dir, LEDGER_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') snapshotUnreadable = true;
    }
    if (snapshotUnreadable) {
      report.snapshotCorrupt = true;
      report.unclean = true;
    }
    if (text !== null) {
      try {
        const snap = JSON.parse(text) as Snapshot;
        ledger.#loadSnapshot(snap);
        report.unclean = snap.clean !== true;
      } catch {
        report.snapshotCorrupt = true;
        report.unclean = true;
        ledger.#segments.clear();
      }
    }
    // Journal: apply acks, remember deliveries to count the ones whose ack was lost.
    let journal: Buffer = Buffer.alloc(0);
    try {
      journal = await readFile(join(dir, JOURNAL_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        report.journalUnreadable = true;
        report.unclean = true;
      }
    }
    const delivered = new Map<string, { key: FrameKey; ranges: RangeSet }>();
    let at = 0;
    for (; at + ENTRY_SIZE <= journal.length; at += ENTRY_SIZE) {
      if (journal.readUInt32LE(at + 36) !== crc32(journal.subarray(at, at + 36))) break;
      const type = journal.readUInt8(at);
      const key: FrameKey = {
        segment: journal.readUInt32LE(at + 4),
        nonce: journal.readUInt32LE(at + 8),
        offset: journal.readUInt32LE(at + 12),
        size: journal.readUInt32LE(at + 16),
        count: journal.readUInt32LE(at + 20),
      };
      const from = journal.readUInt32LE(at + 24);
      const to = journal.readUInt32LE(at + 28);
      ledger.nextSegmentId = Math.max(ledger.nextSegmentId, key.segment + 1);
      if (type === ENTRY_ACK) {
        ledger.#segmentFor(key.segment, key.nonce).ack(key.offset, key.size, key.count, from, to);
      } else if (type === ENTRY_DELIVER) {
        const k = `${key.segment}:${key.nonce}:${key.offset}`;
        let d = delivered.get(k);
        if (d === undefined) {
          d = { key, ranges: new RangeSet() };
          delivered.set(k, d);
        }
        d.ranges.add(from, to);
      } else if (type === ENTRY_NACK) {
        delivered.get(`${key.segment}:${key.nonce}:${key.offset}`)?.ranges.remove(from, to);
      }
    }
    if (at < journal.length) report.journalTornEntries = Math.ceil((journal.length - at) / ENTRY_SIZE);
    // A clean close empties the journal; anything in it means the run after the last snapshot ended
    // without one.
    if (journal.length > 0) report.unclean = true;
    for (const { key, ranges } of delivered.values()) {
      const acks = ledger.lookup(key.segment, key.nonce);
      if (acks?.isDone(key.offset)) continue;
      const acked = acks?.ackedOf(key.offset);
      let events = 0;
      for (let i = 0; i < ranges.ranges.length; i += 2) {
        const a = ranges.ranges[i]!;
        const b = ranges.ranges[i + 1]!;
        events += b - a - (acked?.countIn(a, b) ?? 0);
      }
      if (events > 0)
        report.unackedDeliveries.push({ segment: key.segment, nonce: key.nonce, offset: key.offset, events });
    }
    return { ledger, report, journalLength: journal.length, present: text !== null };
  }

  #loadSnapshot(s: Snapshot): void {
    if (s.format !== LEDGER_FORMAT || s.version !== LEDGER_VERSION || !Array.isArray(s.segments)) {
      throw new Error('not a ledger snapshot');
    }
    this.nextSegmentId = Math.max(1, Number(s.next_segment_id) || 1);
    for (const seg of s.segments) {
      const acks = this.#segmentFor(seg.id, seg.nonce);
      acks.doneBelow = Math.max(SEGMENT_HEADER_SIZE, seg.done_below);
      for (let i = 0; i + 1 < seg.done.length; i += 2) acks.markDone(seg.done[i]!, seg.done[i + 1]!);
      for (const [offset, size, count, ranges] of seg.partial) {
        acks.partial.set(offset, { size, count, acked: new RangeSet(ranges) });
      }
    }
  }

  #segmentFor(id: number, nonce: number): SegmentAcks {
    let acks = this.#segments.get(id);
    if (acks === undefined || acks.nonce !== nonce >>> 0) {
      acks = new SegmentAcks(id, nonce >>> 0);
      this.#segments.set(id, acks);
    }
    return acks;
  }

  /** The ack state of a segment incarnation, or undefined when the ledger knows nothing of it. */
  lookup(id: number, nonce: number): SegmentAcks | undefined {
    const acks = this.#segments.get(id);
    return acks !== undefined && acks.nonce === nonce >>> 0 ? acks : undefined;
  }

  /** Ack state to update for a segment incarnation (created when new). */
  segment(id: number, nonce: number): SegmentAcks {
    return this.#segmentFor(id, nonce);
  }

  /** Keeps only the segments in `ids` (the ones whose files exist). */
  retain(ids: ReadonlySet<number>): void {
    for (const id of this.#segments.keys()) if (!ids.has(id)) this.#segments.delete(id);
  }

  forget(id: number): void {
    this.#segments.delete(id);
  }

  /** Records acked events of a frame (journaled); true when the frame became fully acked. */
  ack(frame: FrameKey, from: number, to: number): boolean {
    const done = this.#segmentFor(frame.segment, frame.nonce).ack(
      frame.offset,
      frame.size,
      frame.count,
      from,
      to,
    );
    this.#append(encodeEntry(ENTRY_ACK, frame, from, to));
    return done;
  }

  /** Records events of a frame handed to the sink (journaled; `flush` before handing them out). */
  deliver(frame: FrameKey, from: number, to: number): void {
    this.#append(encodeEntry(ENTRY_DELIVER, frame, from, to));
  }

  /** Records events of a frame handed back undelivered (they no longer count as possibly delivered). */
  undeliver(frame: FrameKey, from: number, to: number): void {
    this.#append(encodeEntry(ENTRY_NACK, frame, from, to));
  }

  #append(entry: Buffer): void {
    this.#pending.push(entry);
    this.#appendedSeq++;
    this.#kick();
  }

  #kick(): void {
    if (this.#writing === null && this.#snapshotting === null && this.#pending.length > 0) {
      this.#writing = this.#drain();
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 && this.#journal !== null) {
      const chunk = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
      const seq = this.#appendedSeq;
      this.#pending = [];
      try {
        await this.#journal.write(chunk);
        this.#journalBytes += chunk.length;
        this.#dirty = true;
      } catch (err) {
        this.#hooks.onWriteError(err);
      }
      this.#writtenSeq = seq;
      this.#wake();
    }
    this.#writing = null;
    if (this.#journalBytes > this.#compactBytes && !this.#compactionRequested) {
      this.#compactionRequested = true;
      this.#hooks.onCompactionDue();
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const still: Array<{ seq: number; resolve: () => void }> = [];
    for (const w of this.#waiters) {
      if (w.seq <= this.#writtenSeq) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** Resolves once every entry recorded so far has been written to the journal file. */
  flush(): Promise<void> {
    const seq = this.#appendedSeq;
    if (seq <= this.#writtenSeq || this.#journal === null) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  /** fdatasync of the journal, when something was written since the last one. */
  async sync(): Promise<void> {
    if (!this.#dirty || this.#journal === null) return;
    this.#dirty = false;
    await this.#journal.datasync();
  }

  /**
   * Writes a snapshot atomically and empties the journal. `clean` marks a graceful close: the next
   * start knows nothing was handed out without its ack being recorded.
   */
  snapshot(clean: boolean): Promise<void> {
    const run = async () => {
      while (this.#writing !== null) await this.#writing;
      const snap: Snapshot = {
        format: LEDGER_FORMAT,
        version: LEDGER_VERSION,
        clean,
        next_segment_id: this.nextSegmentId,
        written_at: new Date().toISOString(),
        segments: [...this.#segments.values()].map((s) => ({
          id: s.id,
          nonce: s.nonce,
          done_below: s.doneBelow,
          done: [...s.done].flat(),
          partial: [...s.partial].map(([offset, p]) => [offset, p.size, p.count, [...p.acked.ranges]]),
        })),
      };
      const tmp = join(this.#dir, `${LEDGER_FILE}.tmp`);
      const h = await open(tmp, 'w');
      try {
        await h.writeFile(JSON.stringify(snap));
        await h.sync();
      } finally {
        await h.close();
      }
      await rename(tmp, join(this.#dir, LEDGER_FILE));
      await fsyncDir(this.#dir);
      if (this.#journal !== null) {
        await this.#journal.truncate(0);
        this.#journalBytes = 0;
        this.#dirty = false;
      }
      this.#compactionRequested = false;
    };
    const p = (this.#snapshotting ?? Promise.resolve()).then(run).finally(() => {
      if (this.#snapshotting === p) this.#snapshotting = null;
      this.#kick();
    });
    this.#snapshotting = p;
    return p;
  }

  get journalBytes(): number {
    return this.#journalBytes;
  }

  /** Drops entries not yet written, then closes: what a killed process leaves (for tests). */
  async abandon(): Promise<void> {
    this.#pending = [];
    await this.close();
  }

  async close(): Promise<void> {
    while (this.#writing !== null || this.#snapshotting !== null) {
      await this.#writing;
      await this.#snapshotting;
    }
    const j = this.#journal;
    this.#journal = null;
    await j?.close();
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
  }
}
