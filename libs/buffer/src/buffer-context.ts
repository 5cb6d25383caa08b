import { join } from 'node:path';
import { type Logger, RateLimitedLog, silentLogger } from '@siem/observability';
import { BufferCounters, bump } from './metrics.js';
import type { BufferOptions } from './options.js';

/** Options with the spill directory resolved (see `resolveBufferDir`). */
export type EventBufferOptions = Omit<BufferOptions, 'dir'> & { dir: string };

export interface EventBufferDeps {
  logger?: Logger;
  /** Metric label and log field; one name per buffer in a process. */
  name?: string;
  /** Journal size that triggers a ledger snapshot (default 8 MiB; tests make it small). */
  journalCompactBytes?: number;
}

/**
 * What the parts of one buffer (recovery, spill, disk reader) share with the facade: its options, its
 * counters and its logs. One object per buffer, made by the facade, so every part counts and logs
 * under the buffer's name.
 */
export interface BufferContext {
  readonly options: EventBufferOptions;
  /** Where damaged files and tails are moved (`<dir>/corrupt`). */
  readonly corruptDir: string;
  readonly counters: BufferCounters;
  readonly logger: Logger;
  readonly log: RateLimitedLog;
  /** Counts a failed disk operation and logs it at most once per interval per operation. */
  diskError(op: string, err: unknown): void;
}

export function bufferContext(options: EventBufferOptions, deps: EventBufferDeps): BufferContext {
  const name = deps.name ?? 'main';
  const logger = (deps.logger ?? silentLogger).child({ component: 'buffer', buffer: name });
  const log = new RateLimitedLog(logger);
  const counters = new BufferCounters(name);
  return {
    options,
    corruptDir: join(options.dir, 'corrupt'),
    counters,
    logger,
    log,
    diskError: (op, err) => {
      bump(counters.diskErrors, op);
      log.error(`disk:${op}`, { op, err }, 'buffer disk operation failed');
    },
  };
}
