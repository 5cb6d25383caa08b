import { randomInt } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSegmentHeader, SEGMENT_HEADER_SIZE, type SealedFrame, segmentFileName } from './format.js';

/** A segment file as the buffer tracks it while running. */
export interface Segment {
  readonly id: number;
  readonly nonce: number;
  readonly order: number;
  readonly path: string;
  readonly createdAtMs: number;
  /** Written by an earlier run (read-only, complete up to `size`). */
  readonly old: boolean;
  /** Bytes of the segment including frames still queued for writing. */
  size: number;
  /** Bytes known to be in the file (written in order, so every byte below this is a complete write). */
  written: number;
  /** No frame will be appended any more. */
  sealed: boolean;
  /** The writer is done with the file (written, synced and closed). */
  writerDone: boolean;
  /** The reader went past its last frame. */
  readDone: boolean;
  /** Frames read and handed out whose events are not all acknowledged yet. */
  openFrames: number;
  deleted: boolean;
  /** Frames not yet written, by offset: a reader that catches up takes the events from here. */
  readonly queued: Map<number, SealedFrame>;
  /** Frames of this run by offset (size, count), so a frame that reads back corrupt can be skipped. */
  readonly frames: Map<number, { size: number; count: number }> | null;
}

export function newSegmentRecord(
  dir: string,
  header: { id: number; nonce: number; order: number; createdAtMs: number },
  old: boolean,
  size: number,
): Segment {
  return {
    id: header.id,
    nonce: header.nonce,
    order: header.order,
    path: join(dir, segmentFileName(header.id)),
    createdAtMs: header.createdAtMs,
    old,
    size,
    written: old ? size : 0,
    sealed: old,
    writerDone: old,
    readDone: false,
    openFrames: 0,
    deleted: false,
    queued: new Map(),
    frames: old ? null : new Map(),
  };
}

type WriteOp =
  | { kind: 'create'; segment: Segment; header: Buffer }
  | { kind: 'frame'; segment: Segment; offset: number; frame: SealedFrame }
  | { kind: 'seal'; segment: Segment };

export interface WriterHooks {
  /** A new segment was started (the reader appends it to its list). */
  onSegment(segment: Segment): void;
  /** An operation completed: pending bytes went down, a segment may be complete. */
  onProgress(): void;
  /** The writer finished a segment (synced and closed). */
  onSegmentDone(segment: Segment): void;
  /** An operation failed; it is retried after a back-off, the disk counts as unavailable meanwhile. */
  onError(op: 'create' | 'write' | 'sync', err: unknown): void;
  /** A file that should not exist was in the way of a new segment and was moved aside. */
  onConflict(path: string): void;
}

export interface WriterOptions {
  dir: string;
  corruptDir: string;
  segmentMaxBytes: number;
  /** fdatasync after every write when true; otherwise the owner calls `sync()` on its interval. */
  syncEveryWrite: boolean;
}

async function writeFully(h: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  let done = (await h.writev(chunks, position)).bytesWritten;
  if (done === total) return;
  const all = Buffer.concat(chunks);
  while (done < total) {
    const { bytesWritten } = await h.write(all, done, total - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/**
 * Appends frames to segment files, one operation at a time, in the order they were queued. Positions
 * are assigned when a frame is queued (synchronously), so the buffer knows where every event lives
 * before it is written; writes are positional, so retrying a failed one rewrites the same bytes.
 */
export class SegmentWriter {
  readonly #o: WriterOptions;
  readonly #hooks: WriterHooks;
  readonly #queue: WriteOp[] = [];
  readonly #handles = new Map<number, FileHandle>();
  #current: Segment | null = null;
  #pump: Promise<void> | null = null;
  #pendingBytes = 0;
  #queuedSeq = 0;
  #doneSeq = 0;
  #waiters: Array<{ seq: number; resolve: () => void }> = [];
  #healthy = true;
  #backoffMs = 0;
  #stopped = false;
  #dirty = new Set<FileHandle>();
  #dirDirty = false;
  nextId = 1;
  /** Order of the next segments; null means "its id" (the normal append order). */
  orderOf: ((id: number) => number) | null = null;

  constructor(options: WriterOptions, hooks: WriterHooks) {
    this.#o = options;
    this.#hooks = hooks;
  }

  /** Compressed bytes queued and not yet written. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  get current(): Segment | null {
    return this.#current;
  }

  /**
   * Queues a frame and returns where it will live. A new segment starts when `newSegment` is set or the
   * current one would pass its size limit (a frame larger than the limit gets a segment of its own).
   */
  append(frame: SealedFrame, newSegment = false): { segment: Segment; offset: number } {
    let seg = this.#current;
    if (
      seg === null ||
      newSegment ||
      (seg.size + frame.size > this.#o.segmentMaxBytes && seg.size > SEGMENT_HEADER_SIZE)
    ) {
      seg = this.#rotate();
    }
    const offset = seg.size;
    seg.size += frame.size;
    seg.queued.set(offset, frame);
    seg.frames?.set(offset, { size: frame.size, count: frame.count });
    this.#push({ kind: 'frame', segment: seg, offset, frame }, frame.size);
    return { segment: seg, offset };
  }

  /** Ends the current segment: the next frame starts a new one. */
  sealCurrent(): void {
    const seg = this.#current;
    if (seg === null) return;
    seg.sealed = true;
    this.#current = null;
    this.#push({ kind: 'seal', segment: seg }, 0);
  }

  #rotate(): Segment {
    this.sealCurrent();
    const id = this.nextId++;
    const now = Date.now();
    const seg = newSegmentRecord(
      this.#o.dir,
      { id, nonce: randomInt(0, 2 ** 32), order: this.orderOf?.(id) ?? id, createdAtMs: now },
      false,
      SEGMENT_HEADER_SIZE,
    );
    this.#current = seg;
    this.#push({ kind: 'create', segment: seg, header: encodeSegmentHeader(seg) }, SEGMENT_HEADER_SIZE);
    this.#hooks.onSegment(seg);
    return seg;
  }

  #push(op: WriteOp, bytes: number): void {
    this.#queue.push(op);
    this.#queuedSeq++;
    this.#pendingBytes += bytes;
    this.#pump ??= this.#run();
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const op = this.#queue[0]!;
      try {
        await this.#perform(op);
      } catch (err) {
        if (this.#stopped) break;
        this.#healthy = false;
        this.#hooks.onError(op.kind === 'seal' ? 'sync' : op.kind === 'create' ? 'create' : 'write', err);
        this.#backoffMs = Math.min(5_000, this.#backoffMs === 0 ? 100 : this.#backoffMs * 2);
        await new Promise((r) => setTimeout(r, this.#backoffMs).unref());
        continue;
      }
      this.#queue.shift();
      this.#doneSeq++;
      this.#backoffMs = 0;
      this.#healthy = true;
      if (op.kind === 'frame') {
        this.#pendingBytes -= op.frame.size;
        op.segment.queued.delete(op.offset);
      } else if (op.kind === 'create') {
        this.#pendingBytes -= SEGMENT_HEADER_SIZE;
      }
      this.#wake();
      this.#hooks.onProgress();
      if (op.kind === 'seal') this.#hooks.onSegmentDone(op.segment);
    }
    this.#pump = null;
    this.#wake();
  }

  async #perform(op: WriteOp): Promise<void> {
    const seg = op.segment;
    if (op.kind === 'create') {
      let h = this.#handles.get(seg.id);
      if (h === undefined) {
        try {
          h = await open(seg.path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_RDWR, 0o644);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          // An id we believed free is taken (a file copied in by hand?): keep it, but out of the way.
          const aside = join(this.#o.corruptDir, `conflict-${Date.now()}-${segmentFileName(seg.id)}`);
          await rename(seg.path, aside);
          this.#hooks.onConflict(aside);
          h = await open(seg.path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_RDWR, 0o644);
        }
        this.#handles.set(seg.id, h);
        this.#dirDirty = true;
      }
      await writeFully(h, [op.header], 0);
      seg.written = SEGMENT_HEADER_SIZE;
      this.#dirty.add(h);
    } else if (op.kind === 'frame') {
      const h = this.#handles.get(seg.id);
      if (h === undefined) throw new Error(`segment ${seg.id} is not open`);
      await writeFully(h, [op.frame.header, op.frame.payload], op.offset);
      seg.written = op.offset + op.frame.size;
      if (this.#o.syncEveryWrite) await h.datasync();
      else this.#dirty.add(h);
    } else {
      const h = this.#handles.get(seg.id);
      if (h !== undefined) {
        await h.datasync();
        this.#dirty.delete(h);
        this.#handles.delete(seg.id);
        await h.close();
      }
      seg.writerDone = true;
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const done = this.#queue.length === 0 ? this.#queuedSeq : this.#doneSeq;
    const still: Array<{ seq: number; resolve: () => void }> = [];
    for (const w of this.#waiters) {
      if (w.seq <= done || this.#stopped) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** Resolves once everything queued so far is written (not necessarily synced). */
  drained(): Promise<void> {
    const seq = this.#queuedSeq;
    if (seq <= this.#doneSeq || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  /** fdatasync of the files written since the last sync, and of the directory after a new segment. */
  async sync(): Promise<void> {
    const handles = [...this.#dirty];
    this.#dirty.clear();
    for (const h of handles) {
      // A segment finished meanwhile was synced and closed by its seal.
      if (![...this.#handles.values()].includes(h)) continue;
      await h.datasync().catch((err: unknown) => this.#hooks.onError('sync', err));
    }
    if (this.#dirDirty) {
      this.#dirDirty = false;
      let d: FileHandle | undefined;
      try {
        d = await open(this.#o.dir, fsConstants.O_RDONLY);
        await d.sync();
      } catch {
        // fsync of a directory is refused by some filesystems; nothing more can be done.
      } finally {
        await d?.close();
      }
    }
  }

  /**
   * Ends the current segment, writes everything queued, syncs and closes the files. While writes keep
   * failing (a full or broken disk) it gives up after `giveUpAfterMs` and returns the number of events
   * in frames it could not write (0 when everything was written).
   */
  async close(giveUpAfterMs = 10_000): Promise<number> {
    this.sealCurrent();
    const deadline = Date.now() + giveUpAfterMs;
    while (this.#pump !== null) {
      if (!this.#healthy && Date.now() > deadline) {
        this.#stopped = true;
        break;
      }
      await Promise.race([this.#pump, new Promise((r) => setTimeout(r, 100))]);
    }
    let lost = 0;
    for (const op of this.#queue) if (op.kind === 'frame') lost += op.frame.count;
    if (this.#stopped) {
      await this.#pump;
      this.#queue.length = 0;
      this.#wake();
    }
    await this.sync();
    for (const h of this.#handles.values()) await h.close().catch(() => undefined);
    this.#handles.clear();
    return lost;
  }

  /** Stops at once, dropping what is queued: what a killed process leaves behind (for tests). */
  async abandon(): Promise<void> {
    this.#stopped = true;
    await this.#pump;
    this.#wake();
    for (const h of this.#handles.values()) await h.close().catch(() => undefined);
    this.#handles.clear();
  }
}
