import {
  type BufferRecord,
  decodeRawEvent,
  type Intake,
  type LoggerLike,
  type OfferResult,
  type RawEvent,
  type SourceContext,
} from '../index.js';

/**
 * An in-memory Intake for tests: a stand-in for our own buffer (not for an external service), with a
 * switch for what it answers so backpressure and rejection can be driven on demand.
 */
export class MemoryIntake implements Intake {
  readonly records: BufferRecord[] = [];
  /** The size of every batch offered, in order (rejected ones too). */
  readonly batchSizes: number[] = [];
  answer: OfferResult = 'ok';
  rejectReason = 'full';
  readonly #resume = new Set<() => void>();
  #waiters: { n: number; resolve: () => void }[] = [];

  /** How many batches were offered (rejected ones too). */
  get batches(): number {
    return this.batchSizes.length;
  }

  offer(records: BufferRecord[]): OfferResult {
    this.batchSizes.push(records.length);
    if (this.answer === 'rejected') return 'rejected';
    this.records.push(...records);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.records.length < w.n) return true;
      w.resolve();
      return false;
    });
    return this.answer;
  }

  onResume(listener: () => void): () => void {
    this.#resume.add(listener);
    return () => this.#resume.delete(listener);
  }

  /** Takes records again and tells the paused sources. */
  resume(): void {
    this.answer = 'ok';
    for (const l of [...this.#resume]) l();
  }

  get resumeListeners(): number {
    return this.#resume.size;
  }

  events(): RawEvent[] {
    return this.records.map((r) => decodeRawEvent(r.value));
  }

  /** Resolves once `n` records arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.records.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`waited ${timeoutMs} ms for ${n} records, have ${this.records.length}`)),
        timeoutMs,
      );
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** An Intake for benchmarks that takes every batch and only counts it. */
export class CountingIntake implements Intake {
  events = 0;
  batches = 0;
  readonly rejectReason = 'none';
  offer(records: BufferRecord[]): OfferResult {
    this.events += records.length;
    this.batches++;
    return 'ok';
  }
  onResume(): () => void {
    return () => undefined;
  }
}

/** A logger that keeps what it is asked to write (for asserting rate-limited log lines). */
export class CapturingLogger implements LoggerLike {
  readonly lines: { level: string; msg: string; obj: object }[];
  constructor(lines: { level: string; msg: string; obj: object }[] = []) {
    this.lines = lines;
  }
  debug(obj: object, msg = ''): void {
    this.lines.push({ level: 'debug', msg, obj });
  }
  info(obj: object, msg = ''): void {
    this.lines.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg = ''): void {
    this.lines.push({ level: 'warn', msg, obj });
  }
  error(obj: object, msg = ''): void {
    this.lines.push({ level: 'error', msg, obj });
  }
  child(): LoggerLike {
    return new CapturingLogger(this.lines);
  }
}

/** A logger that writes nothing (@siem/core has no logging library to make a silent one from). */
export const noopLogger: LoggerLike = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => noopLogger,
};

/** The context a source gets from the runtime: this intake, tenant `default`, keyed by host, silent. */
export function testContext(intake: Intake, overrides: Partial<SourceContext> = {}): SourceContext {
  return { intake, tenant: 'default', keyBy: 'host', logger: noopLogger, ...overrides };
}

/** Polls until `check` holds (for counters that change asynchronously). */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
