import { isAscii, isUtf8 } from 'node:buffer';
import type { BufferRecord, RawEventEncoder, RawEventMark } from '@siem/core';
import type { RateLimitedLog } from '@siem/observability';
import type { ListenerMetrics } from './metrics.js';
import { type ParseOptions, parseSyslogHeader, type SyslogFormat } from './parser.js';
import type { SourceRateLimiter } from './rate-limit.js';

export interface EventBuilderOptions {
  maxMessageBytes: number;
  defaultTimezone: string;
  format: SyslogFormat;
  keyBy: 'host' | 'tenant';
  tenant: string;
  rateLimit: SourceRateLimiter | null;
}

const TRUNCATED: readonly RawEventMark[] = ['truncated'];
const PARSE_ERROR: readonly RawEventMark[] = ['parse_error'];
const INVALID_UTF8: readonly RawEventMark[] = ['invalid_utf8'];

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
 * Turns frames into buffer records: size limit, rate limit, header parse, marks, raw-event encoding,
 * Kafka key. Shared by the UDP, TCP and TLS listeners; everything it does not pass on is counted.
 */
export class EventBuilder {
  readonly #o: EventBuilderOptions;
  readonly #metrics: ListenerMetrics;
  readonly #log: RateLimitedLog;
  readonly #parse: ParseOptions;

  constructor(options: EventBuilderOptions, metrics: ListenerMetrics, log: RateLimitedLog) {
    this.#o = options;
    this.#metrics = metrics;
    this.#log = log;
    this.#parse = {
      receivedAtMs: 0,
      defaultTimezone: options.defaultTimezone,
      format: options.format,
      extensions: false,
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
    let payload = frame;
    let truncated = originalSize > frame.length;
    if (payload.length > this.#o.maxMessageBytes) {
      payload = payload.subarray(0, utf8Boundary(payload, this.#o.maxMessageBytes));
      truncated = true;
    } else if (truncated && payload.length > 3) {
      payload = payload.subarray(0, utf8Boundary(payload, payload.length));
    }
    this.#parse.receivedAtMs = receivedAtMs;
    const { header, parseError } = parseSyslogHeader(payload, this.#parse);
    const invalidUtf8 = !isAscii(payload) && !isUtf8(payload);
    let marks: readonly RawEventMark[] | null = null;
    if (truncated || invalidUtf8 || parseError !== null) {
      if (truncated) m.truncatedEvent();
      if (invalidUtf8) m.invalidUtf8Event();
      if (parseError !== null) m.parseError(parseError);
      if (truncated && !invalidUtf8 && parseError === null) marks = TRUNCATED;
      else if (!truncated && !invalidUtf8) marks = PARSE_ERROR;
      else if (!truncated && parseError === null) marks = INVALID_UTF8;
      else {
        const all: RawEventMark[] = [];
        if (truncated) all.push('truncated');
        if (invalidUtf8) all.push('invalid_utf8');
        if (parseError !== null) all.push('parse_error');
        marks = all;
      }
      if (truncated) {
        this.#log.info(
          'truncated',
          { peer, originalSize },
          'syslog message over max_message_bytes: truncated',
        );
      }
      if (parseError !== null) {
        this.#log.info(
          `parse_error:${parseError}`,
          { peer, reason: parseError },
          'syslog header not parsed: kept whole with a parse-error mark',
        );
      }
    }
    const value = encoder.encode({
      receivedAtMs,
      sourceType: 'syslog',
      syslog: header,
      marks,
      parseError,
      originalSize,
      payload,
    });
    out.push({ key: this.#o.keyBy === 'tenant' ? this.#o.tenant : (header.hostname ?? peer), value });
  }
}
