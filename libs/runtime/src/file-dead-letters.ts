import { isUtf8 } from 'node:buffer';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { BufferRecord, LoggerLike } from '@siem/core';
import { counter } from '@siem/observability';
import type { DeadLetters } from './normalizing-sink.js';

const pruned = {
  records: counter({
    name: 'siem_dead_letters_pruned_records_total',
    help: 'Dead letters deleted from <data_dir>/dead-letters, by reason (retention: older than retention_days; cap: beyond max_bytes).',
    labelNames: ['reason'] as const,
  }),
  bytes: counter({
    name: 'siem_dead_letters_pruned_bytes_total',
    help: 'Bytes of dead-letter files deleted, by reason (retention, cap).',
    labelNames: ['reason'] as const,
  }),
};

export interface FileDeadLettersOptions {
  /** All dead-letter files together stay under this many bytes: the oldest go first. */
  maxBytes: number;
  /** Files older than this many days are deleted. */
  retentionDays: number;
  logger?: LoggerLike;
}

/** `2026-12-03.ndjson`, `2026-12-03.1.ndjson`, …: the day the letters were written, then a sequence. */
const FILE = /^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.ndjson$/;

interface Segment {
  name: string;
  day: string;
  seq: number;
  bytes: number;
}

function segments(dir: string): Segment[] {
  const out: Segment[] = [];
  for (const name of readdirSync(dir)) {
    const m = FILE.exec(name);
    if (m === null) continue;
    out.push({ name, day: m[1]!, seq: Number(m[2] ?? 0), bytes: statSync(join(dir, name)).size });
  }
  return out.sort((a, b) => (a.day === b.day ? a.seq - b.seq : a.day < b.day ? -1 : 1));
}

function lineCount(file: string): number {
  const data = readFileSync(file);
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Dead letters of the all role, which has no Kafka: one JSON line per record (reason, error, key, the
 * raw record) in `<dir>/<YYYY-MM-DD>[.<n>].ndjson`, synced before the batch counts as handled, so a
 * failure to write one rejects the batch and it is retried — never acknowledged away. `siem` tooling
 * and people can read them back.
 *
 * The folder is bounded: a file rolls over at a tenth of `maxBytes`, and after each write the oldest
 * files go while the folder holds more than `maxBytes` or files older than `retentionDays`; what is
 * deleted is counted (siem_dead_letters_pruned_*{reason}) and logged. The file being written is never
 * deleted, so the folder may hold one segment beyond the cap.
 */
export class FileDeadLetters implements DeadLetters {
  readonly #dir: string;
  readonly #o: FileDeadLettersOptions;
  readonly #segmentBytes: number;
  #current: Segment | null = null;

  constructor(dir: string, options: FileDeadLettersOptions) {
    this.#dir = dir;
    this.#o = options;
    this.#segmentBytes = Math.max(4096, Math.floor(options.maxBytes / 10));
    mkdirSync(dir, { recursive: true });
  }

  async deadLetter(records: readonly BufferRecord[], reason: string, error: string): Promise<void> {
    const at = new Date().toISOString();
    const text = `${records
      .map((r) =>
        JSON.stringify({
          at,
          reason,
          error,
          key: r.key,
          ...(isUtf8(r.value)
            ? { value: r.value.toString('utf8') }
            : { value_base64: r.value.toString('base64') }),
        }),
      )
      .join('\n')}\n`;
    const segment = this.#segmentFor(at.slice(0, 10));
    const file = join(this.#dir, segment.name);
    await appendFile(file, text);
    segment.bytes += Buffer.byteLength(text);
    const fh = await open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.prune(Date.now());
  }

  /** Deletes what is past the retention or over the cap (oldest first, never the file being written). */
  prune(nowMs: number): void {
    const all = segments(this.#dir);
    const cutoff = new Date(nowMs - this.#o.retentionDays * 86_400_000).toISOString().slice(0, 10);
    let total = all.reduce((s, x) => s + x.bytes, 0);
    for (const s of all) {
      if (s.name === this.#current?.name) break;
      const reason = s.day < cutoff ? 'retention' : total > this.#o.maxBytes ? 'cap' : null;
      if (reason === null) continue;
      const file = join(this.#dir, s.name);
      const lines = lineCount(file);
      rmSync(file, { force: true });
      total -= s.bytes;
      pruned.records.inc({ reason }, lines);
      pruned.bytes.inc({ reason }, s.bytes);
      this.#o.logger?.warn(
        { file: s.name, records: lines, bytes: s.bytes, reason },
        reason === 'cap'
          ? 'dead letters over max_bytes: oldest file deleted'
          : 'dead letters past retention deleted',
      );
    }
  }

  #segmentFor(day: string): Segment {
    let s = this.#current;
    if (s === null || s.day !== day) {
      const today = segments(this.#dir).filter((x) => x.day === day);
      s = today.at(-1) ?? { name: `${day}.ndjson`, day, seq: 0, bytes: 0 };
    }
    if (s.bytes >= this.#segmentBytes) {
      const seq = s.seq + 1;
      s = { name: `${day}.${seq}.ndjson`, day, seq, bytes: 0 };
    }
    this.#current = s;
    return s;
  }
}
