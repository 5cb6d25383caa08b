import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SiemError } from '@siem/core';
import type { BufferContext } from './buffer-context.js';
import { decodeSegmentHeader, SEGMENT_HEADER_SIZE, segmentIdOf } from './format.js';
import { AckLedger, type LedgerLoadReport } from './ledger.js';
import { bump } from './metrics.js';
import { newSegmentRecord, type Segment } from './segment-writer.js';

/** What an earlier run left in the spill directory, checked and ready to replay. */
export interface RecoveredSpill {
  ledger: AckLedger;
  /** Segments with unacked events, in queue order. */
  kept: Segment[];
  /** Highest segment id of any file in the directory (new ids start above it). */
  maxId: number;
}

/**
 * Loads the ack ledger, checks every segment header (a bad one is moved to `corrupt/`), deletes
 * segments whose events were all acknowledged and returns the rest in queue order. Damaged content is
 * counted and logged, never thrown: only an unusable directory (permissions, not a directory) fails.
 * After an unclean stop, events handed out without a recorded ack are counted as redelivered here.
 */
export async function recoverSpill(
  ctx: BufferContext,
  journalCompactBytes?: number,
): Promise<RecoveredSpill> {
  const corruptDir = ctx.corruptDir;
  const dir = ctx.options.dir;
  try {
    await mkdir(corruptDir, { recursive: true });
  } catch (cause) {
    throw new SiemError('SIEM_ERR_BUFFER_IO', `cannot create the buffer directory ${dir}`, { cause });
  }
  let opened: AckLedger | null = null;
  const { ledger, report } = await AckLedger.open(
    dir,
    corruptDir,
    {
      onWriteError: (err) => ctx.diskError('journal', err),
      onCompactionDue: () => {
        opened?.snapshot(false).catch((err: unknown) => ctx.diskError('ledger', err));
      },
    },
    journalCompactBytes,
  );
  opened = ledger;
  try {
    return await recoverSegments(ctx, ledger, report);
  } catch (err) {
    // The directory failed under us: the buffer does not open, so nothing else will close the ledger.
    await ledger.close().catch(() => undefined);
    throw err;
  }
}

async function recoverSegments(
  ctx: BufferContext,
  ledger: AckLedger,
  report: LedgerLoadReport,
): Promise<RecoveredSpill> {
  const { counters: c, logger } = ctx;
  const dir = ctx.options.dir;
  if (report.snapshotCorrupt) {
    bump(c.corruptFrames, 'ledger');
    logger.error({ dir }, 'ack ledger unreadable, moved to corrupt/: unacked state lost, events may repeat');
  }
  if (report.journalTornEntries > 0) bump(c.corruptFrames, 'journal_tail', report.journalTornEntries);
  if (report.journalUnreadable) {
    bump(c.corruptFrames, 'journal');
    logger.error({ dir }, 'ack journal unreadable, moved to corrupt/: recent acks lost, events may repeat');
  }

  const segs: Segment[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const id = segmentIdOf(name);
    if (id === null) continue;
    const seg = await loadSegment(ctx, name, id);
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
        ctx.diskError('delete', err); // replayed frames are all done: it stays, harmless
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
    logger.warn(
      { dir, segments: kept.length, redelivered },
      'previous run did not shut down cleanly; events handed out without a recorded ack will be delivered again',
    );
  }
  let maxId = 0;
  for (const name of await readdir(dir)) maxId = Math.max(maxId, segmentIdOf(name) ?? 0);
  return { ledger, kept, maxId };
}

async function loadSegment(ctx: BufferContext, name: string, id: number): Promise<Segment | null> {
  const path = join(ctx.options.dir, name);
  const c = ctx.counters;
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
      await moveAside(ctx, path, `${name}.bad`);
      bump(c.corruptFrames, 'segment_header');
      bump(c.corruptBytes, 'segment_header', size);
      ctx.logger.error({ file: name, reason }, 'segment header invalid; segment moved to corrupt/');
      return null;
    }
    return newSegmentRecord(ctx.options.dir, header, true, size);
  } catch (err) {
    ctx.diskError('read', err);
    await moveAside(ctx, path, `${name}.unreadable`).catch(() => undefined);
    ctx.logger.error({ file: name, err }, 'segment unreadable; moved to corrupt/');
    return null;
  }
}

async function moveAside(ctx: BufferContext, path: string, asName: string): Promise<void> {
  await rename(path, join(ctx.corruptDir, `${Date.now()}-${asName}`));
}
