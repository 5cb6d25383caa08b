import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { NormalizedEvent } from '@siem/core';
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

/** The events of an archive file, in file order. */
export async function* readArchive(file: string): AsyncGenerator<NormalizedEvent> {
  const input = createReadStream(file).pipe(new DecompressStream());
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.length === 0) continue;
    yield eventFromRow(JSON.parse(line) as Record<string, unknown>);
  }
}

/** Checks an archive file against its manifest entry (size and SHA-256). */
export function verifyArchiveFile(file: string): { ok: boolean; detail?: string } {
  const manifest = readManifest(dirname(file));
  const entry = manifest?.files.find((f) => f.file === basename(file));
  if (entry === undefined) return { ok: false, detail: 'not in the manifest' };
  const size = statSync(file).size;
  if (size !== entry.bytes) return { ok: false, detail: `size ${size}, manifest says ${entry.bytes}` };
  const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
  return sum === entry.sha256 ? { ok: true } : { ok: false, detail: 'SHA-256 differs from the manifest' };
}

/**
 * Re-imports an archive file through a sink (the event writer: idempotent, so importing a file twice,
 * or one whose rows are still in the table, stores each event once). Returns the number of events read.
 */
export async function importArchive(
  file: string,
  sink: { writeBatch(batch: NormalizedEvent[]): Promise<void> },
  batchSize = 5_000,
): Promise<number> {
  let batch: NormalizedEvent[] = [];
  let n = 0;
  for await (const e of readArchive(file)) {
    batch.push(e);
    n++;
    if (batch.length >= batchSize) {
      await sink.writeBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await sink.writeBatch(batch);
  return n;
}
