import { isAscii, isUtf8 } from 'node:buffer';
import { type BufferRecord, keptPayload, type RawEventEncoder } from '@siem/core';
import { EventMarks } from '@siem/net';
import type { RateLimitedLog } from '@siem/observability';
import type { WindowsMetrics } from './metrics.js';

/** Why an event is marked parse_error (bounded: a metric label). */
export const windowsParseErrorReasons = [
  'invalid_json',
  'not_an_object',
  'truncated',
  'too_many_records',
] as const;
export type WindowsParseErrorReason = (typeof windowsParseErrorReasons)[number];

export interface WindowsEventBuilderOptions {
  maxMessageBytes: number;
  /** Longest JSON array one event may be (each element becomes a row); longer ones are marked. */
  maxArrayEvents: number;
  keyBy: 'host' | 'tenant';
  tenant: string;
}

const MAX_HOST = 255;

function name(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_HOST ? v : null;
}

function sub(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * The computer an event comes from, in the field each shipper uses: NXLog `im_msvistalog` (and
 * OpenWEC's NXLog format) `Hostname`; Fluent Bit `winevtlog` `Computer`; Winlogbeat / Elastic Agent
 * `winlog.computer_name`, else `host.hostname` / `host.name`; OpenWEC's JSON format `System.Computer`.
 */
export function computerOf(doc: unknown): string | null {
  const d = Array.isArray(doc) ? sub(doc[0]) : sub(doc);
  if (d === null) return null;
  const direct = name(d.Hostname) ?? name(d.Computer);
  if (direct !== null) return direct;
  const winlog = sub(d.winlog);
  const fromBeat = winlog === null ? null : name(winlog.computer_name);
  if (fromBeat !== null) return fromBeat;
  const system = sub(d.System);
  const fromWec = system === null ? null : name(system.Computer);
  if (fromWec !== null) return fromWec;
  const host = sub(d.host);
  return host === null ? null : (name(host.hostname) ?? name(host.name));
}

function blank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

/**
 * Turns one Windows event (a JSON line, a Lumberjack JSON frame) into a buffer record: size limit,
 * JSON check, marks, raw-event encoding (source type `windows`, no syslog header, the payload exactly
 * as received) and the Kafka key (the event's computer, else the peer; or the tenant).
 *
 * Malformed JSON is kept, not refused: the architecture keeps everything that arrives, and the sender
 * (NXLog om_tcp, Fluent Bit tcp) has no channel to hear a refusal on anyway. It travels marked
 * `parse_error` with the reason, is counted, and the normalizer sends it to the dead-letter topic.
 *
 * One line is one event: a line holding a JSON array (Fluent Bit's `json` format sends batches so)
 * becomes a row per element only up to `maxArrayEvents`; a longer array is still one raw event, whole,
 * marked `parse_error: too_many_records` and counted, so one 151 MB line cannot become 4.44 M rows.
 */
export class WindowsEventBuilder {
  readonly #o: WindowsEventBuilderOptions;
  readonly #metrics: WindowsMetrics;
  readonly #log: RateLimitedLog;
  readonly #marks: EventMarks;

  constructor(options: WindowsEventBuilderOptions, metrics: WindowsMetrics, log: RateLimitedLog) {
    this.#o = options;
    this.#metrics = metrics;
    this.#log = log;
    this.#marks = new EventMarks(metrics, log, {
      truncated: 'Windows event over max_message_bytes: truncated',
      parseError: 'Windows event is not a JSON object: kept whole with a parse-error mark',
    });
  }

  /**
   * Appends the record of one event to `out`, or counts why there is none. `frame` may be a view into
   * a socket buffer: the encoder copies it before this returns.
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
    if (blank(frame)) {
      m.discard('empty', true); // nothing to keep: not a failure
      this.#log.info('empty', { peer }, 'empty Windows event line discarded');
      return;
    }
    const payload = keptPayload(frame, originalSize, this.#o.maxMessageBytes);
    const truncated = originalSize > frame.length || frame.length > this.#o.maxMessageBytes;
    const invalidUtf8 = !isAscii(payload) && !isUtf8(payload);
    let parseError: WindowsParseErrorReason | null = null;
    let doc: unknown = null;
    if (truncated) {
      parseError = 'truncated'; // a cut JSON document never parses: skip the attempt
    } else {
      try {
        doc = JSON.parse(payload.toString('utf8'));
        if (typeof doc !== 'object' || doc === null) parseError = 'not_an_object';
        else if (Array.isArray(doc) && doc.length > this.#o.maxArrayEvents) parseError = 'too_many_records';
      } catch {
        parseError = 'invalid_json';
      }
    }
    const marks = this.#marks.of(peer, originalSize, truncated, invalidUtf8, parseError);
    const value = encoder.encode({
      receivedAtMs,
      sourceType: 'windows',
      syslog: null,
      marks,
      parseError,
      originalSize,
      payload,
    });
    const key = this.#o.keyBy === 'tenant' ? this.#o.tenant : (computerOf(doc) ?? peer);
    out.push({ key, value });
  }
}
