import type { SyslogHeader } from '@siem/core';
import type { CefRecord } from './cef.js';
import type { LeefRecord } from './leef.js';

// The parser's options and results: parser.ts re-exports them; the format modules share them.

export type SyslogFormat = 'auto' | 'rfc3164' | 'rfc5424';

export interface ParseOptions {
  /** Receive time; sets the year of year-less RFC 3164 timestamps. */
  receivedAtMs: number;
  /** IANA zone for timestamps without an offset (default UTC). */
  defaultTimezone?: string;
  format?: SyslogFormat;
  /** Look for CEF/LEEF payloads in MSG (default true). */
  extensions?: boolean;
  /**
   * Structured data as objects in header.structuredData (the default), or as JSON text in
   * ParsedHeader.structuredDataJson — what the gateway writes into the raw event, without objects.
   */
  structuredData?: 'object' | 'json';
}

/** Reasons in `parseError` (bounded: used as a metric label). */
export const parseErrorReasons = [
  'empty',
  'no_header',
  'invalid_pri',
  'not_rfc5424',
  'invalid_timestamp',
  'invalid_hostname',
  'invalid_app_name',
  'invalid_proc_id',
  'invalid_msg_id',
  'invalid_structured_data',
  'truncated_header',
] as const;
export type ParseErrorReason = (typeof parseErrorReasons)[number];

export interface ParsedSyslog {
  header: SyslogHeader;
  /** MSG as text (invalid UTF-8 replaced by U+FFFD). */
  message: string;
  parseError: ParseErrorReason | null;
  /** The payload is not well-formed UTF-8 (the raw bytes are kept by the raw event). */
  invalidUtf8: boolean;
  cef: CefRecord | null;
  leef: LeefRecord | null;
}

/** What the listeners need: the header and the error, without decoding MSG. */
export interface ParsedHeader {
  header: SyslogHeader;
  parseError: ParseErrorReason | null;
  /**
   * With `structuredData: 'json'`: the structured data as JSON (then header.structuredData is null), or
   * null when there is none or it was made as objects after all (header.structuredData).
   */
  structuredDataJson: string | null;
}

/** Buffer's own slice decoders (undocumented but stable since Node 0.x): no encoding dispatch. */
export interface FastSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
