import { isAscii, isUtf8 } from 'node:buffer';
import type { BufferRecord, RawEventEncoder, RawEventInput, RawEventMark } from '@siem/core';
import type { RateLimitedLog } from '@siem/observability';
import type { ListenerMetrics } from './metrics.js';
import {
  newParsedHeader,
  type ParsedHeader,
  type ParseOptions,
  parseSyslogHeader,
  parseSyslogHeaderInto,
  type SyslogFormat,
} from './parser.js';
import type { SourceRateLimiter } from './rate-limit.js';

export interface EventBuilderOptions {
  maxMessageBytes: number;
  defaultTimezone: string;
  format: SyslogFormat;
  keyBy: 'host' | 'tenant';
  tenant: string;
  rateLimit: SourceRateLimiter | null;
}

/** `end` moved back so that a cut there never splits a UTF-8 character (the bytes are kept as sent). */
export function utf8Boundary(buf: Buffer, end: number): number {
  // find the lead byte of the last character (at most 3 continuation bytes before it)
  let p = end - 1;
  while (p >= 0 && p > end - 4 && (buf[p]! & 0xc0) === 0x80) p--;
  if (p < 0) return end;
  const lead = buf[p]!;
  const len = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return p + len > end ? p : end;
}

/**
 * What is kept of a frame: at most `maxBytes`, and a frame that is already cut (`originalSize` is
 * larger) never ends inside a UTF-8 character. The event is truncated when `originalSize` or the frame
 * is over the limit.
 */
export function keptPayload(frame: Buffer, originalSize: number, maxBytes: number): Buffer {
  if (frame.length > maxBytes) return frame.subarray(0, utf8Boundary(frame, maxBytes));
  if (originalSize > frame.length && frame.length > 3) {
    return frame.subarray(0, utf8Boundary(frame, frame.length));
  }
  return frame;
}

const TRUNCATED: readonly RawEventMark[] = ['truncated'];
const PARSE_ERROR: readonly RawEventMark[] = ['parse_error'];
const INVALID_UTF8: readonly RawEventMark[] = ['invalid_utf8'];

/** The marks of a raw event, in their fixed order (a shared array for the usual single mark). */
function rawEventMarks(
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

/**
 * The raw event a listener makes of one whole syslog message (no size or rate limit applied), with the
 * header's hostname: records for benchmarks and tests that are exactly what the gateway writes.
 */
export function encodeSyslogMessage(
  encoder: RawEventEncoder,
  payload: Buffer,
  receivedAtMs: number,
): { hostname: string | null; value: Buffer } {
  const { header, parseError, structuredDataJson } = parseSyslogHeader(payload, {
    receivedAtMs,
    extensions: false,
    structuredData: 'json',
  });
  const invalidUtf8 = !isAscii(payload) && !isUtf8(payload);
  const value = encoder.encode({
    receivedAtMs,
    sourceType: 'syslog',
    syslog: header,
    marks: rawEventMarks(false, invalidUtf8, parseError !== null),
    parseError,
    originalSize: payload.length,
    payload,
    structuredDataJson,
  });
  return { hostname: header.hostname, value };
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
    return rawEventMarks(truncated, invalidUtf8, parseError !== null);
  }
}

/**
 * Turns frames into buffer records: size limit, rate limit, header parse, marks, raw-event encoding,
 * Kafka key. Shared by the UDP, TCP and TLS listeners; everything it does not pass on is counted.
 */
export class EventBuilder {
  readonly #o: EventBuilderOptions;
  readonly #metrics: ListenerMetrics;
  readonly #log: RateLimitedLog;
  readonly #parse: ParseOptions;
  /** The parse of the current frame: overwritten by the next (the encoder copies what it needs). */
  readonly #parsed: ParsedHeader = newParsedHeader();
  /** What the encoder is given, filled in per frame (it keeps none of it). */
  readonly #input: RawEventInput = {
    receivedAtMs: 0,
    sourceType: 'syslog',
    syslog: null,
    marks: null,
    parseError: null,
    originalSize: 0,
    payload: Buffer.alloc(0),
    structuredDataJson: null,
  };
  readonly #marks: EventMarks;

  constructor(options: EventBuilderOptions, metrics: ListenerMetrics, log: RateLimitedLog) {
    this.#o = options;
    this.#metrics = metrics;
    this.#log = log;
    this.#marks = new EventMarks(metrics, log, {
      truncated: 'syslog message over max_message_bytes: truncated',
      parseError: 'syslog header not parsed: kept whole with a parse-error mark',
    });
    this.#parse = {
      receivedAtMs: 0,
      defaultTimezone: options.defaultTimezone,
      format: options.format,
      extensions: false,
      structuredData: 'json',
    };
  }

  /**
   * Appends the record of one frame to `out`, or counts why there is none. `frame` may be a view into
   * a socket buffer: it is copied by the encoder before this returns.
   */
  add(
    out: BufferRecord[],
    encoder: RawEventEncoder,
    peer: string,
    frame: Buffer,
    originalSize: number,
    receivedAtMs: number,
  ): void {
    const m = this.#metrics;
    m.event(originalSize);
    if (frame.length === 0) {
      m.discard('empty');
      this.#log.info('empty', { peer }, 'empty syslog frame discarded');
      return;
    }
    const rl = this.#o.rateLimit;
    if (rl !== null && !rl.take(peer, receivedAtMs)) {
      m.discard('rate_limited');
      this.#log.warn('rate_limited', { peer }, 'syslog source over its rate limit: events discarded');
      return;
    }
    const payload = keptPayload(frame, originalSize, this.#o.maxMessageBytes);
    const truncated = originalSize > frame.length || frame.length > this.#o.maxMessageBytes;
    this.#parse.receivedAtMs = receivedAtMs;
    const { header, parseError, structuredDataJson } = parseSyslogHeaderInto(
      payload,
      this.#parse,
      this.#parsed,
    );
    const invalidUtf8 = !isAscii(payload) && !isUtf8(payload);
    const marks = this.#marks.of(peer, originalSize, truncated, invalidUtf8, parseError);
    const input = this.#input;
    input.receivedAtMs = receivedAtMs;
    input.syslog = header;
    input.marks = marks;
    input.parseError = parseError;
    input.originalSize = originalSize;
    input.payload = payload;
    input.structuredDataJson = structuredDataJson;
    const value = encoder.encode(input);
    out.push({ key: this.#o.keyBy === 'tenant' ? this.#o.tenant : (header.hostname ?? peer), value });
  }
}
