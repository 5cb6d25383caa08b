import {
  type BufferRecord,
  decodeRawEvent,
  type Intake,
  type LoggerLike,
  type OfferResult,
  type RawEvent,
  type SourceContext,
} from '@siem/core';
import { silentLogger } from '@siem/observability';

/**
 * An in-memory Intake for tests: a stand-in for our own buffer (not for an external service), with a
 * switch for what it answers so backpressure and rejection can be driven on demand.
 */
export class MemoryIntake implements Intake {
  readonly records: BufferRecord[] = [];
  batches = 0;
  answer: OfferResult = 'ok';
  rejectReason = 'buffer_full';
  readonly #resume = new Set<() => void>();
  #waiters: { n: number; resolve: () => void }[] = [];

  offer(records: BufferRecord[]): OfferResult {
    this.batches++;
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

export function testContext(intake: MemoryIntake, overrides: Partial<SourceContext> = {}): SourceContext {
  return { intake, tenant: 'default', keyBy: 'host', logger: silentLogger, ...overrides };
}

/** Polls until `check` holds (for counters that change asynchronously). */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
