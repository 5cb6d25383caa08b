import type { LoggerLike } from '@siem/core';
import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  level: string;
  /** Component name put on every line (`component` field). */
  name?: string;
}

/** The process logger: pino JSON on stdout (or fd 2 for CLI tools whose stdout is data). */
export function createLogger(config: LoggerConfig, destination: 1 | 2 = 1): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { pid: process.pid, ...(config.name ? { component: config.name } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(options, pino.destination({ fd: destination, sync: false }));
}

/** A logger that writes nothing: for libraries used without a logger, and for quiet tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * Logs at most once per interval per key. Hot paths (parse errors, drops) call it for every occurrence;
 * the line that does get written says how many were suppressed since the last one.
 */
export class RateLimitedLog {
  readonly #logger: LoggerLike;
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: LoggerLike, intervalMs = 10_000) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.#log('warn', key, fields, message);
  }

  error(key: string, fields: Record<string, unknown>, message: string): void {
    this.#log('error', key, fields, message);
  }

  info(key: string, fields: Record<string, unknown>, message: string): void {
    this.#log('info', key, fields, message);
  }

  #log(
    level: 'warn' | 'error' | 'info',
    key: string,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    const now = Date.now();
    const entry = this.#last.get(key);
    if (entry !== undefined && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (this.#last.size > 1000) this.#last.clear(); // keys are bounded by design; never let a bug grow this
    this.#last.set(key, { at: now, suppressed: 0 });
    this.#logger[level]({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }
}
