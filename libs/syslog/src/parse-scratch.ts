import { type ZoneClock, zoneClock } from './timezone.js';

/** Most SD elements one message may have while its structured data is written as JSON text. */
export const SD_IDS_MAX = 64;

/**
 * All the state the parser keeps between and within calls, in one object: the parser is synchronous
 * and never re-entered, so one instance serves every call, and a parse allocates none of it.
 *
 * Why one object, and a class: the scanners pass it along as `c`, and V8 sees one hidden class for
 * every access (every field is set in the constructor, with its final type), so reads stay as cheap as
 * the module-level variables they replace. Fields are in four groups:
 *
 * - the message being parsed (set by parseInto for each call): `buf`, `end`, `receivedAtMs`, `clock`
 *   (with the `zone` it was made for: making a ZoneClock costs more than a parse), `sdAsJson`;
 * - results the scanners hand back beside their return value, so none returns an object: `ts` and
 *   `tsEnd` (timestamp scanners), `tag*` (RFC 3164 TAG), `sdJson` (structured data as JSON text);
 * - caches that outlive a call, valid while their key holds: the receive time's local time and year
 *   (`yearKey*`, `received*`: listeners parse batches that share a receive time) and RFC 3164
 *   timestamps by their fields (`tsCache*`, for one zone and one receive day: the year depends on it);
 * - buffers reused by the structured-data writer: `sdOut` (grows on demand) and the SD-IDs seen in
 *   the message (`sdIdStart`/`sdIdEnd`).
 */
export class ParseScratch {
  // the message being parsed
  buf: Buffer = Buffer.alloc(0);
  end = 0;
  receivedAtMs = 0;
  /** The default time zone's name and its clock (ParseOptions.defaultTimezone). */
  zone = 'UTC';
  clock: ZoneClock = zoneClock('UTC');
  /** Structured data wanted as JSON text (ParseOptions.structuredData). */
  sdAsJson = false;

  // results of the scanners
  /** Timestamp as RFC 3339 text, and the offset after it. */
  ts: string | null = null;
  tsEnd = 0;
  /** TAG: end of its name (before `[` or `:`), its pid (-1 when none), and where MSG starts. */
  tagNameEnd = 0;
  tagPidStart = -1;
  tagPidEnd = -1;
  tagMsgStart = 0;
  /** Structured data as JSON text, when asked for and made as text. */
  sdJson: string | null = null;

  // caches across calls
  /** The year of the receive time (and its local time) for the last (receivedAtMs, clock) pair. */
  yearKeyMs = Number.NaN;
  yearKeyClock: ZoneClock | null = null;
  receivedLocalMs = 0;
  receivedYear = 0;
  /** RFC 3164 timestamps by their fields, for one clock and one receive day. */
  readonly tsCache = new Map<number, string>();
  tsCacheClock: ZoneClock | null = null;
  tsCacheDay = Number.NaN;

  // buffers of the structured-data writer
  sdOut: Buffer = Buffer.allocUnsafe(4096);
  readonly sdIdStart = new Int32Array(SD_IDS_MAX);
  readonly sdIdEnd = new Int32Array(SD_IDS_MAX);
}

/** The one instance every parse uses. */
export const scratch = new ParseScratch();
