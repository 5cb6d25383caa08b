import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeFrameHeader,
  decodeSegmentHeader,
  FRAME_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
  segmentIdOf,
} from './format.js';
import { AckLedger, JOURNAL_FILE, LEDGER_FILE } from './ledger.js';

export interface SegmentInspection {
  file: string;
  id: number | null;
  order: number | null;
  bytes: number;
  frames: number;
  events: number;
  /** Events of this segment already acknowledged (per the ledger). */
  ackedEvents: number;
  createdAt: string | null;
  /** When the oldest unacknowledged event in it entered the buffer. */
  oldestUnackedAt: string | null;
  /** What is wrong with it, when something is (a restart would cut or set it aside). */
  problem: string | null;
}

export interface BufferInspection {
  dir: string;
  exists: boolean;
  segments: SegmentInspection[];
  totals: { segments: number; bytes: number; frames: number; events: number; unackedEvents: number };
  /** Age of the oldest unacknowledged event on disk, in seconds (null when none). */
  oldestEventAgeSeconds: number | null;
  ledger: { present: boolean; cleanShutdown: boolean; journalBytes: number };
  corrupt: Array<{ file: string; bytes: number }>;
}

async function listOrEmpty(dir: string): Promise<string[] | null> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Reads a spill directory without changing it: each segment's frames (headers only, nothing is
 * decompressed), the ledger's acks, the oldest unacknowledged event. Safe while a gateway runs, though
 * the figures are then a moment's picture.
 */
export async function inspectBufferDir(dir: string, nowMs = Date.now()): Promise<BufferInspection> {
  const names = await listOrEmpty(dir);
  const result: BufferInspection = {
    dir,
    exists: names !== null,
    segments: [],
    totals: { segments: 0, bytes: 0, frames: 0, events: 0, unackedEvents: 0 },
    oldestEventAgeSeconds: null,
    ledger: { present: false, cleanShutdown: false, journalBytes: 0 },
    corrupt: [],
  };
  if (names === null) return result;
  const { ledger, report, present } = await AckLedger.read(dir);
  const journalBytes = await stat(join(dir, JOURNAL_FILE)).then(
    (s) => s.size,
    () => 0,
  );
  result.ledger = { present, cleanShutdown: present && !report.unclean, journalBytes };
  let oldest: number | null = null;
  for (const name of names) {
    const id = segmentIdOf(name);
    if (id === null) continue;
    const seg = await inspectSegment(join(dir, name), name, id, ledger);
    result.segments.push(seg);
    result.totals.segments++;
    result.totals.bytes += seg.bytes;
    result.totals.frames += seg.frames;
    result.totals.events += seg.events;
    result.totals.unackedEvents += seg.events - seg.ackedEvents;
    if (seg.oldestUnackedAt !== null) {
      const t = Date.parse(seg.oldestUnackedAt);
      if (oldest === null || t < oldest) oldest = t;
    }
  }
  result.segments.sort((a, b) => (a.order ?? Number.MAX_VALUE) - (b.order ?? Number.MAX_VALUE));
  result.oldestEventAgeSeconds = oldest === null ? null : Math.max(0, (nowMs - oldest) / 1000);
  const corrupt = (await listOrEmpty(join(dir, 'corrupt'))) ?? [];
  for (const file of corrupt) {
    const s = await stat(join(dir, 'corrupt', file)).catch(() => null);
    if (s?.isFile()) result.corrupt.push({ file, bytes: s.size });
  }
  return result;
}

async function inspectSegment(
  path: string,
  file: string,
  id: number,
  ledger: AckLedger,
): Promise<SegmentInspection> {
  const out: SegmentInspection = {
    file,
    id,
    order: null,
    bytes: 0,
    frames: 0,
    events: 0,
    ackedEvents: 0,
    createdAt: null,
    oldestUnackedAt: null,
    problem: null,
  };
  const h = await open(path, 'r');
  try {
    const size = (await h.stat()).size;
    out.bytes = size;
    const head = Buffer.alloc(SEGMENT_HEADER_SIZE);
    await h.read(head, 0, SEGMENT_HEADER_SIZE, 0);
    const header = size < SEGMENT_HEADER_SIZE ? 'short header' : decodeSegmentHeader(head);
    if (typeof header === 'string') {
      out.problem = header;
      return out;
    }
    out.order = header.order;
    out.createdAt = new Date(header.createdAtMs).toISOString();
    const acks = ledger.lookup(header.id, header.nonce);
    const fh = Buffer.alloc(FRAME_HEADER_SIZE);
    let oldest: number | null = null;
    for (let off = SEGMENT_HEADER_SIZE; off < size; ) {
      const { bytesRead } = await h.read(fh, 0, FRAME_HEADER_SIZE, off);
      const frame = bytesRead === FRAME_HEADER_SIZE ? decodeFrameHeader(fh) : null;
      if (frame === null || off + FRAME_HEADER_SIZE + frame.payloadLength > size) {
        out.problem = `unreadable frame at byte ${off} (${size - off} bytes to the end)`;
        break;
      }
      out.frames++;
      out.events += frame.count;
      const acked = acks?.isDone(off) ? frame.count : (acks?.ackedOf(off)?.size ?? 0);
      out.ackedEvents += acked;
      if (acked < frame.count && (oldest === null || frame.firstMs < oldest)) oldest = frame.firstMs;
      off += FRAME_HEADER_SIZE + frame.payloadLength;
    }
    out.oldestUnackedAt = oldest === null ? null : new Date(oldest).toISOString();
    return out;
  } finally {
    await h.close();
  }
}

export interface PurgeResult {
  removedFiles: string[];
  removedBytes: number;
}

/**
 * Deletes every segment, the ledger and the journal (and with `includeCorrupt`, what was set aside in
 * corrupt/). The events in them are gone for good: stop the process that uses the directory first.
 */
export async function purgeBufferDir(
  dir: string,
  options: { includeCorrupt?: boolean } = {},
): Promise<PurgeResult> {
  const result: PurgeResult = { removedFiles: [], removedBytes: 0 };
  const names = await listOrEmpty(dir);
  if (names === null) return result;
  const targets: string[] = [];
  for (const name of names) {
    if (
      segmentIdOf(name) !== null ||
      name === LEDGER_FILE ||
      name === `${LEDGER_FILE}.tmp` ||
      name === JOURNAL_FILE
    ) {
      targets.push(join(dir, name));
    }
  }
  if (options.includeCorrupt) {
    for (const name of (await listOrEmpty(join(dir, 'corrupt'))) ?? [])
      targets.push(join(dir, 'corrupt', name));
  }
  for (const path of targets) {
    const s = await stat(path).catch(() => null);
    if (s === null || !s.isFile()) continue;
    await rm(path, { force: true });
    result.removedFiles.push(path);
    result.removedBytes += s.size;
  }
  return result;
}
