import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { type NormalizedEvent, SiemError } from '@siem/core';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { EVENT_COLUMNS, eventFromRow } from './columns.js';
import { storageMetrics as m } from './metrics.js';

/**
 * The archive of the frozen tier: one zstd-compressed JSON-lines file per exported chunk or partition
 * (one line per event, snake_case columns as `row_to_json` writes them), and a manifest.json listing
 * every file with its time range, row count, sizes and SHA-256. Files are written under a temporary
 * name and renamed when complete; the manifest is replaced atomically the same way.
 */
export const ARCHIVE_FORMAT = 'siem-events-jsonl-zstd/1';

export interface ArchiveEntry {
  file: string;
  /** The chunk or partition it came from. */
  source: string;
  rangeStart: string;
  rangeEnd: string;
  rows: number;
  /** JSON-lines bytes before compression. */
  rawBytes: number;
  bytes: number;
  sha256: string;
  minTime: string | null;
  maxTime: string | null;
  exportedAt: string;
  /** `exported`: written, its chunk not yet dropped (a later run may replace it); `dropped`: final. */
  state: 'exported' | 'dropped';
}

export interface ArchiveManifest {
  format: string;
  table: string;
  columns: string[];
  files: ArchiveEntry[];
}

export function archiveFolder(archiveDir: string, schema: string): string {
  return join(archiveDir, schema, 'events');
}

export function readManifest(folder: string): ArchiveManifest | null {
  const file = join(folder, 'manifest.json');
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as ArchiveManifest;
}

function writeManifest(folder: string, manifest: ArchiveManifest): void {
  const file = join(folder, 'manifest.json');
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, file);
}

function updateManifest(
  folder: string,
  table: string,
  change: (files: ArchiveEntry[]) => ArchiveEntry[],
): void {
  const manifest = readManifest(folder) ?? {
    format: ARCHIVE_FORMAT,
    table,
    columns: EVENT_COLUMNS.map((c) => c.column),
    files: [],
  };
  manifest.files = change(manifest.files).sort(
    (a, b) => a.rangeStart.localeCompare(b.rangeStart) || a.exportedAt.localeCompare(b.exportedAt),
  );
  writeManifest(folder, manifest);
}

/** Marks an archive file final: its chunk is dropped. */
export function markArchived(folder: string, file: string): void {
  updateManifest(folder, '', (files) => files.map((f) => (f.file === file ? { ...f, state: 'dropped' } : f)));
}

function stamp(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
}

/**
 * COPY text output of one json column → JSON lines. row_to_json escapes every control character, so
 * the only COPY escaping left in a line is the doubling of backslashes.
 */
class CopyJsonLines extends Transform {
  rows = 0;
  rawBytes = 0;
  minTime: string | null = null;
  maxTime: string | null = null;
  #rest = '';
  // A chunk can end inside a multi-byte character: decode across chunk boundaries.
  readonly #decoder = new StringDecoder('utf8');

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.#rest + this.#decoder.write(chunk);
    const cut = text.lastIndexOf('\n') + 1;
    this.#rest = text.slice(cut);
    if (cut === 0) {
      done();
      return;
    }
    const lines = text.slice(0, cut).replaceAll('\\\\', '\\');
    let at = 0;
    while (at < lines.length) {
      const end = lines.indexOf('\n', at);
      // "time" is the first key of each row: compare its text (same offset format on every row).
      const t = lines.slice(at + 9, lines.indexOf('"', at + 9));
      if (this.minTime === null || t < this.minTime) this.minTime = t;
      if (this.maxTime === null || t > this.maxTime) this.maxTime = t;
      this.rows++;
      at = end + 1;
    }
    const out = Buffer.from(lines);
    this.rawBytes += out.length;
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#rest + this.#decoder.end();
    done(rest.length > 0 ? new Error('archive export: COPY output ended inside a line') : null);
  }
}

class Sha256Count extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

export interface ExportOptions {
  /** `"siem".events` */
  table: string;
  schema: string;
  /** Chunk or partition name recorded in the manifest. */
  source: string;
  rangeStart: Date;
  rangeEnd: Date;
  archiveDir: string;
  zstdLevel: number;
}

/** Exports the rows of [rangeStart, rangeEnd) to one archive file and records it in the manifest. */
export async function exportRange(client: pg.ClientBase, o: ExportOptions): Promise<ArchiveEntry> {
  const folder = archiveFolder(o.archiveDir, o.schema);
  mkdirSync(folder, { recursive: true });
  const start = o.rangeStart.toISOString();
  const end = o.rangeEnd.toISOString();
  const table = o.table.replaceAll('"', '');
  // An earlier export of this range whose chunk was not dropped is replaced; a dropped one stays (the
  // rows exported now arrived later, for a range already frozen).
  updateManifest(folder, table, (files) =>
    files.filter((f) => {
      const stale = f.state !== 'dropped' && f.rangeStart === start && f.rangeEnd === end;
      if (stale) rmSync(join(folder, f.file), { force: true });
      return !stale;
    }),
  );
  const exportedAt = new Date().toISOString();
  const name = `events_${stamp(start)}_${stamp(end)}_${stamp(exportedAt)}.jsonl.zst`;
  const file = join(folder, name);
  const tmp = `${file}.partial`;
  const columns = EVENT_COLUMNS.map((c) => c.column).join(', ');
  // COPY takes no bind parameters; both bounds are ISO strings made here.
  const sql =
    `copy (select row_to_json(e)::text from (select ${columns} from ${o.table} ` +
    `where time >= '${start}'::timestamptz and time < '${end}'::timestamptz) e) to stdout`;
  const lines = new CopyJsonLines();
  const digest = new Sha256Count();
  const zstd = new CompressStream({ compressionLevel: o.zstdLevel });
  try {
    await pipeline(client.query(copyTo(sql)), lines, zstd, digest, createWriteStream(tmp));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, file);
  const entry: ArchiveEntry = {
    file: name,
    source: o.source,
    rangeStart: start,
    rangeEnd: end,
    rows: lines.rows,
    rawBytes: lines.rawBytes,
    bytes: digest.bytes,
    sha256: digest.hash.digest('hex'),
    minTime: lines.minTime,
    maxTime: lines.maxTime,
    exportedAt,
    state: 'exported',
  };
  updateManifest(folder, table, (files) => [...files, entry]);
  m.archiveBytes.inc(entry.bytes);
  m.archiveRows.inc(entry.rows);
  return entry;
}

/** The events of a zstd JSON-lines stream, in file order. */
async function* eventsOf(compressed: Readable): AsyncGenerator<NormalizedEvent> {
  const lines = createInterface({
    input: compressed.pipe(new DecompressStream()),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.length === 0) continue;
    yield eventFromRow(JSON.parse(line) as Record<string, unknown>);
  }
}

/** Why an archive file fails its check (stable: logs, error details and tests read it). */
export type ArchiveProblem =
  | 'no_manifest'
  | 'manifest_unreadable'
  | 'not_in_manifest'
  | 'size_mismatch'
  | 'sha256_mismatch'
  | 'rows_mismatch'
  | 'undecodable';

export type ArchiveCheck =
  | { ok: true; entry: ArchiveEntry }
  | { ok: false; problem: ArchiveProblem; detail: string };

/** Counts the rows (newlines) of decompressed JSON lines: `row_to_json` escapes every newline in a value. */
class LineCount extends Writable {
  rows = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.rows++;
    done();
  }
}

/**
 * The bytes of an open file from its start, read by position. Not `handle.createReadStream`: a stream
 * that is destroyed (a pipeline that fails) closes the handle, and the handle is needed again.
 */
async function* bytesOf(handle: FileHandle): AsyncGenerator<Buffer> {
  for (let at = 0; ; ) {
    const buf = Buffer.allocUnsafe(1 << 20);
    const { bytesRead } = await handle.read(buf, 0, buf.length, at);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
    at += bytesRead;
  }
}

async function sha256Of(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of bytesOf(handle)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Checks an open archive file against its entry in the manifest.json beside it: listed, same size,
 * same SHA-256, and it decompresses to the listed number of rows. One read of the file feeds both the
 * hash and the decompression.
 */
async function checkArchive(file: string, handle: FileHandle): Promise<ArchiveCheck> {
  let manifest: ArchiveManifest | null;
  try {
    manifest = readManifest(dirname(file));
  } catch (err) {
    return { ok: false, problem: 'manifest_unreadable', detail: (err as Error).message };
  }
  if (manifest === null) {
    return { ok: false, problem: 'no_manifest', detail: 'no manifest.json beside it' };
  }
  const entry = Array.isArray(manifest.files)
    ? manifest.files.find((f) => f.file === basename(file))
    : undefined;
  if (entry === undefined) return { ok: false, problem: 'not_in_manifest', detail: 'not in the manifest' };
  const size = (await handle.stat()).size;
  if (size !== entry.bytes) {
    return { ok: false, problem: 'size_mismatch', detail: `${size} bytes, the manifest says ${entry.bytes}` };
  }
  const digest = new Sha256Count();
  const lines = new LineCount();
  try {
    await pipeline(
      Readable.from(bytesOf(handle), { objectMode: false }),
      digest,
      new DecompressStream(),
      lines,
    );
  } catch (err) {
    // The stream stopped early, so the digest covers part of the file: hash all of it to tell altered
    // bytes (the likely case) from a file that matches its manifest but does not decode.
    const whole = await sha256Of(handle);
    if (whole !== entry.sha256) {
      return { ok: false, problem: 'sha256_mismatch', detail: 'SHA-256 differs from the manifest' };
    }
    return { ok: false, problem: 'undecodable', detail: (err as Error).message };
  }
  if (digest.hash.digest('hex') !== entry.sha256) {
    return { ok: false, problem: 'sha256_mismatch', detail: 'SHA-256 differs from the manifest' };
  }
  if (lines.rows !== entry.rows) {
    return {
      ok: false,
      problem: 'rows_mismatch',
      detail: `${lines.rows} rows, the manifest says ${entry.rows}`,
    };
  }
  return { ok: true, entry };
}

/** Checks an archive file against its manifest entry (size, SHA-256 and row count). */
export async function verifyArchiveFile(file: string): Promise<ArchiveCheck> {
  const handle = await open(file, 'r');
  try {
    return await checkArchive(file, handle);
  } finally {
    await handle.close();
  }
}

/**
 * Re-imports an archive file through a sink (the event writer: idempotent, so importing a file twice,
 * or one whose rows are still in the table, stores each event once). Returns the number of events read.
 * The file is checked against its manifest first and refused, with nothing written, when it does not
 * match (`SIEM_ERR_ARCHIVE_INVALID`, the problem in `details`): a truncated or altered archive would
 * otherwise restore part of a range, or rows that were never exported. Both passes read through one
 * open handle, so a file swapped under the same name between them is not the one read.
 */
export async function importArchive(
  file: string,
  sink: { writeBatch(batch: NormalizedEvent[]): Promise<void> },
  batchSize = 5_000,
): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const check = await checkArchive(file, handle);
    if (!check.ok) {
      throw new SiemError('SIEM_ERR_ARCHIVE_INVALID', `${file}: ${check.detail}; nothing restored`, {
        details: { file, problem: check.problem },
      });
    }
    let batch: NormalizedEvent[] = [];
    let n = 0;
    for await (const e of eventsOf(Readable.from(bytesOf(handle), { objectMode: false }))) {
      batch.push(e);
      n++;
      if (batch.length >= batchSize) {
        await sink.writeBatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await sink.writeBatch(batch);
    return n;
  } finally {
    await handle.close();
  }
}
