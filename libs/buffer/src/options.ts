import { join } from 'node:path';
import { Section, type Static, Type } from '@siem/config';
import { SiemError } from '@siem/core';

const MiB = 1024 * 1024;

export const bufferOptionsSchema = Section(
  {
    max_events: Type.Integer({
      minimum: 1,
      default: 1_000_000,
      description:
        'Memory ring capacity in events. 1 makes every batch go to disk (a pure disk buffer: nothing is\nlost on kill -9 once written, at the cost of compressing everything).',
    }),
    max_memory_bytes: Type.Integer({
      minimum: 1024,
      default: 1024 * MiB,
      description:
        'Memory ring capacity in bytes (key + value of each event; JavaScript object overhead per event\ncomes on top, see bench/results/buffer-rss). The ring is full when either bound is reached; the\ndefault lets 1,000,000 typical encoded syslog events (~770 B) fit.',
    }),
    high_watermark: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.8,
      description:
        'Fill ratio of the memory ring above which new batches spill to disk. The band above it is\nkept for re-queued (nacked) batches and for when the disk cannot take more.',
    }),
    low_watermark: Type.Number({
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0.6,
      description:
        'Fill ratio at or below which new batches go back to memory (must be below high_watermark).',
    }),
    dir: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      default: null,
      description: 'Spill directory; null means <data_dir>/buffer. One process per directory.',
    }),
    max_disk_bytes: Type.Integer({
      minimum: 64 * 1024,
      default: 2048 * MiB,
      description:
        'Byte cap on the spill directory (compressed). Typical encoded syslog events take ~90 B each on\ndisk at zstd level 1 (bench/results/buffer-spill): the default holds 10,000,000 events of data\nhalf as compressible as that.',
    }),
    segment_max_bytes: Type.Integer({
      minimum: 4096,
      maximum: 1024 * MiB,
      default: 64 * MiB,
      description:
        'Segment files rotate at this size; a segment is deleted once every batch in it is acknowledged.',
    }),
    frame_max_bytes: Type.Integer({
      minimum: 1024,
      maximum: 64 * MiB,
      default: 256 * 1024,
      description: 'Uncompressed bytes per zstd frame on disk (larger compresses better, re-reads more).',
    }),
    spill_linger_ms: Type.Integer({
      minimum: 0,
      default: 20,
      description:
        'Longest a spilled event waits in an unfinished frame before the frame is compressed and written.',
    }),
    zstd_level: Type.Integer({
      minimum: 1,
      maximum: 19,
      default: 1,
      description: 'zstd compression level of spilled frames.',
    }),
    when_full: Type.Union([Type.Literal('block'), Type.Literal('drop_newest')], {
      default: 'block',
      description:
        'When memory and the disk cap are full: block (the adapters are told to pause) or drop_newest\n(new batches are rejected and counted as dropped).',
    }),
    sync_interval_ms: Type.Integer({
      minimum: 0,
      default: 1000,
      description:
        'fdatasync of the active segment and the ack journal at this interval (0: after every write).\nA power loss can cost up to this much spilled data; a process crash (kill -9) costs none of it.',
    }),
    max_pending_write_bytes: Type.Integer({
      minimum: 64 * 1024,
      default: 32 * MiB,
      description:
        'Compressed bytes waiting for the disk writer; above it the disk counts as full until it catches up.',
    }),
    close_drain_ms: Type.Integer({
      minimum: 0,
      default: 5000,
      description:
        'On shutdown, how long to wait for batches in delivery to be acknowledged before they are kept\nfor the next start instead.',
    }),
  },
  { description: 'Ring buffer between the adapters and the producer, with zstd disk spillover.' },
);

export type BufferOptions = Static<typeof bufferOptionsSchema>;

/**
 * Where the buffer spills: `dir` when the configuration names one (a relative path is relative to the
 * working directory, like data_dir), else `<data_dir>/buffer`. The runtime calls this; the buffer itself
 * only ever sees a resolved directory.
 */
export function resolveBufferDir(options: Pick<BufferOptions, 'dir'>, dataDir: string): string {
  return options.dir ?? join(dataDir, 'buffer');
}

/** Checks what the schema cannot express (one key against another). */
export function checkBufferOptions(options: BufferOptions): void {
  const problems: string[] = [];
  if (options.low_watermark >= options.high_watermark) {
    problems.push('buffer.low_watermark must be below buffer.high_watermark');
  }
  if (problems.length > 0) {
    throw new SiemError('SIEM_ERR_CONFIG_INVALID', problems.join('; '), {
      details: problems.map((message) => ({ path: '/buffer', message })),
    });
  }
}

/** Every option at its schema default (what an empty `buffer:` section loads to). */
export function defaultBufferOptions(): BufferOptions {
  return Object.fromEntries(
    Object.entries(bufferOptionsSchema.properties).map(([key, schema]) => [
      key,
      (schema as { default: unknown }).default,
    ]),
  ) as BufferOptions;
}
