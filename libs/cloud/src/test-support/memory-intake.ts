import {
  type BufferRecord,
  decodeRawEvent,
  type Intake,
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
  readonly batchSizes: number[] = [];
  answer: OfferResult = 'ok';
  rejectReason = 'full';
  readonly #resume = new Set<() => void>();

  offer(records: BufferRecord[]): OfferResult {
    this.batchSizes.push(records.length);
    if (this.answer === 'rejected') return 'rejected';
    this.records.push(...records);
    return this.answer;
  }

  onResume(listener: () => void): () => void {
    this.#resume.add(listener);
    return () => this.#resume.delete(listener);
  }

  resume(): void {
    this.answer = 'ok';
    for (const l of [...this.#resume]) l();
  }

  events(): RawEvent[] {
    return this.records.map((r) => decodeRawEvent(r.value));
  }
}

export function testContext(intake: Intake, overrides: Partial<SourceContext> = {}): SourceContext {
  return { intake, tenant: 'default', keyBy: 'host', logger: silentLogger, ...overrides };
}
