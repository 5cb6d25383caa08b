import { createRequire } from 'node:module';
import type { LoggerLike } from '@siem/core';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export const logFormats = ['auto', 'json', 'pretty'] as const;
/** `auto`: pretty when the log goes to a terminal, JSON otherwise (files, pipes, log shippers). */
export type LogFormat = (typeof logFormats)[number];

export interface LoggerConfig {
  level: string;
  /** Component name put on every line (`component` field). */
  name?: string;
  /** JSON lines (default), or human-readable lines (`auto`: only when the destination is a terminal). */
  format?: LogFormat;
}

/** The format a logger writing to `fd` uses: `auto` becomes pretty on a terminal, JSON elsewhere. */
export function resolveLogFormat(format: LogFormat, fd: 1 | 2 = 1): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return (fd === 1 ? process.stdout : process.stderr).isTTY === true ? 'pretty' : 'json';
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/**
 * pino-pretty as an in-process stream rather than pino's transport: a worker thread would cost start-up
 * time and memory for the few lines a person reads on a terminal, and hot paths log rate-limited anyway.
 * Loaded on demand, so JSON logging (production) never pays for it.
 */
function prettyStream(fd: 1 | 2): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
  return pretty({
    destination: fd,
    sync: true, // a person reads these; keeps lines in order with the banner written beside them
    colorize: (fd === 1 ? process.stdout : process.stderr).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component',
    messageKey: 'msg',
    singleLine: true,
  });
}

/** The process logger: pino JSON on stdout (or fd 2 for CLI tools whose stdout is data), or pretty lines. */
export function createLogger(config: LoggerConfig, destination: 1 | 2 = 1): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { pid: process.pid, ...(config.name ? { component: config.name } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (resolveLogFormat(config.format ?? 'json', destination) === 'pretty') {
    // pino-pretty colours and names the numeric levels itself
    return pino({ ...options, formatters: {} }, prettyStream(destination));
  }
  return pino(options, pino.destination({ fd: destination, sync: false }));
}

/**
 * A logger that writes nothing: for libraries used without a logger, and for quiet tests. It has no
 * destination of its own: pino's default one (stdout) would fsync stdout when the process exits, and
 * every process that imports this module would wait for its whole output to reach the disk.
 */
export const silentLogger: Logger = pino({ level: 'silent' }, { write() {} });

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
