import type { RawEventMark } from '@siem/core';
import type { RateLimitedLog } from '@siem/observability';
import type { ListenerMetrics } from './listener-metrics.js';

const TRUNCATED: readonly RawEventMark[] = ['truncated'];
const PARSE_ERROR: readonly RawEventMark[] = ['parse_error'];
const INVALID_UTF8: readonly RawEventMark[] = ['invalid_utf8'];

/** The marks of a raw event, in their fixed order (a shared array for the usual single mark). */
export function eventMarks(
  truncated: boolean,
  invalidUtf8: boolean,
  parseError: boolean,
): readonly RawEventMark[] | null {
  if (!truncated && !invalidUtf8 && !parseError) return null;
  if (truncated && !invalidUtf8 && !parseError) return TRUNCATED;
  if (!truncated && !invalidUtf8) return PARSE_ERROR;
  if (!truncated && !parseError) return INVALID_UTF8;
  const all: RawEventMark[] = [];
  if (truncated) all.push('truncated');
  if (invalidUtf8) all.push('invalid_utf8');
  if (parseError) all.push('parse_error');
  return all;
}

/** What a listener's log lines say about a truncated event and one that did not parse. */
export interface MarkMessages {
  truncated: string;
  parseError: string;
}

/**
 * The marks of a listener's events, counted as every listener counts them: each mark in the metrics
 * (parse errors by reason), truncations and parse errors also in the log (rate-limited, per reason).
 */
export class EventMarks {
  readonly #metrics: ListenerMetrics;
  readonly #log: RateLimitedLog;
  readonly #messages: MarkMessages;

  constructor(metrics: ListenerMetrics, log: RateLimitedLog, messages: MarkMessages) {
    this.#metrics = metrics;
    this.#log = log;
    this.#messages = messages;
  }

  /** Counts the marks of one event and returns them for its raw event (null: none). */
  of(
    peer: string,
    originalSize: number,
    truncated: boolean,
    invalidUtf8: boolean,
    parseError: string | null,
  ): readonly RawEventMark[] | null {
    const m = this.#metrics;
    if (truncated) {
      m.truncatedEvent();
      this.#log.info('truncated', { peer, originalSize }, this.#messages.truncated);
    }
    if (invalidUtf8) m.invalidUtf8Event();
    if (parseError !== null) {
      m.parseError(parseError);
      this.#log.info(`parse_error:${parseError}`, { peer, reason: parseError }, this.#messages.parseError);
    }
    return eventMarks(truncated, invalidUtf8, parseError !== null);
  }
}
