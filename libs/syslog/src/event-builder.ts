import { isAscii, isUtf8 } from 'node:buffer';
import {
  type BufferRecord,
  keptPayload,
  type RawEventEncoder,
  type RawEventInput,
  type SourceContext,
} from '@siem/core';
import { EventMarks, eventMarks, type ListenerMetrics, SourceRateLimiter } from '@siem/net';
import type { RateLimitedLog } from '@siem/observability';
import type { SyslogRateLimitOptions } from './options.js';
import {
  newParsedHeader,
  type ParsedHeader,
  type ParseOptions,
  parseSyslogHeader,
  parseSyslogHeaderInto,
  type SyslogFormat,
} from './parser.js';
import { zoneClock } from './timezone.js';

export interface EventBuilderOptions {
  maxMessageBytes: number;
  defaultTimezone: string;
  format: SyslogFormat;
  keyBy: 'host' | 'tenant';
  tenant: string;
  rateLimit: SourceRateLimiter | null;
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
    marks: eventMarks(false, invalidUtf8, parseError !== null),
    parseError,
    originalSize: payload.length,
    payload,
    structuredDataJson,
  });
  return { hostname: header.hostname, value };
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
      m.discard('empty', true); // nothing to keep: not a failure
      this.#log.info('empty', { peer }, 'empty syslog frame discarded');
      return;
    }
    const rl = this.#o.rateLimit;
    if (rl !== null && !rl.take(peer, receivedAtMs)) {
      m.discard('rate_limited', true);
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

/** The options every syslog listener has (a subset of each listener's schema). */
export interface CommonListenerOptions {
  host: string;
  port: number;
  max_message_bytes: number;
  default_timezone: string;
  format: SyslogFormat;
  tenant?: string;
  reuse_port: boolean;
  rate_limit: SyslogRateLimitOptions;
}

/** The syslog listeners' event builder: size and rate limits, header parse, marks, encoding. */
export function syslogEventBuilder(
  options: CommonListenerOptions,
  context: SourceContext,
  tenant: string,
  metrics: ListenerMetrics,
  log: RateLimitedLog,
): EventBuilder {
  zoneClock(options.default_timezone); // an unknown zone fails here, not on the first event
  const rl = options.rate_limit;
  return new EventBuilder(
    {
      maxMessageBytes: options.max_message_bytes,
      defaultTimezone: options.default_timezone,
      format: options.format,
      keyBy: context.keyBy,
      tenant,
      rateLimit: rl.enabled
        ? new SourceRateLimiter({
            eventsPerSecond: rl.events_per_second,
            burst: rl.burst,
            maxSources: rl.max_sources,
          })
        : null,
    },
    metrics,
    log,
  );
}
