import { Section, type Static, Type } from '@siem/config';
import type { NormalizedEvent } from '@siem/core';
import { counter } from '@siem/observability';

/**
 * Event times the gateway does not believe. A sender's clock (or a forged field) can date an event in
 * 2199: newest-first reads would show it first for ever, and every distinct far year is a chunk of its
 * own. An event time later than the receive time by more than a margin is therefore replaced by the
 * receive time; the sender's value is kept in `attrs.event.original_time` (ECS's `event.*` set, beside
 * `event.original` for the original text) with `attrs.event.time_clamped` saying which bound applied.
 *
 * Old times stay as they are by default: imports, replays and senders that were offline are
 * legitimate. A lower bound exists for sites that want one, off by default.
 */
export const timeBoundsSchema = Section(
  {
    future_margin_seconds: Type.Integer({
      minimum: 0,
      default: 172_800,
      description:
        'An event time more than this after the receive time is replaced by the receive time; the original is ' +
        'kept in attrs.event.original_time (attrs.event.time_clamped: future) and counted ' +
        '(siem_normalizer_time_clamped_total{bound="future"}). Default 2 days.',
    }),
    past_margin_days: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      default: null,
      description:
        'When set, an event time more than this many days before the receive time is replaced likewise ' +
        '(time_clamped: past). null: old times are kept (imports, replays, late senders).',
    }),
  },
  { description: 'Bounds on the event time relative to the receive time.' },
);

export type TimeBoundsOptions = Static<typeof timeBoundsSchema>;

export const DEFAULT_TIME_BOUNDS: Readonly<TimeBoundsOptions> = Object.freeze({
  future_margin_seconds: 172_800,
  past_margin_days: null,
});

const clamped = counter({
  name: 'siem_normalizer_time_clamped_total',
  help: 'Events whose time was replaced by the receive time, by the bound it crossed (future, past).',
  labelNames: ['bound'],
});

const DAY_MS = 86_400_000;
/** A local date's last instant in UTC is at most this after its midnight (24 h + the largest offset). */
const LOCAL_DAY_REACH_MS = 40 * 3_600_000;

/**
 * The last calendar date (YYYY-MM-DD, in any offset) certainly within the future bound of events
 * received on `receivedDay` (UTC): rows dated no later need no Date.parse. Cached: a process sees one
 * or two receive days at a time, and this check runs for every row.
 */
let safeFor = { receivedDay: '', marginMs: -1, safeDay: '' };
function safeDay(receivedDay: string, marginMs: number): string {
  if (safeFor.receivedDay !== receivedDay || safeFor.marginMs !== marginMs) {
    const dayStart = Date.parse(`${receivedDay}T00:00:00Z`);
    const last = dayStart + marginMs - LOCAL_DAY_REACH_MS;
    // a margin under 40 h leaves no whole day certainly inside the bound: no fast path
    const safe = Number.isNaN(last) || last < dayStart ? '' : new Date(last).toISOString().slice(0, 10);
    safeFor = { receivedDay, marginMs, safeDay: safe };
  }
  return safeFor.safeDay;
}

/** The canonical times the normalizers write (`YYYY-MM-DDThh:mm:ss…`) compare by their date part. */
const isCanonical = (time: string) => time.length >= 20 && time.charCodeAt(10) === 84; /* T */

/**
 * Applies the bounds to rows of one raw event (they share its receive time). Rows whose time is the
 * receive time (no time in the source) or does not parse are left alone.
 */
export function clampTimes(rows: NormalizedEvent[], receivedAt: string, o: TimeBoundsOptions): void {
  const marginMs = o.future_margin_seconds * 1000;
  // Without a lower bound, a row dated on or before the safe day needs no parsing (most rows).
  const sure =
    o.past_margin_days === null && isCanonical(receivedAt) ? safeDay(receivedAt.slice(0, 10), marginMs) : '';
  let received = Number.NaN;
  for (const row of rows) {
    if (row.time === receivedAt) continue;
    if (sure !== '' && isCanonical(row.time) && row.time.slice(0, 10) <= sure) continue;
    if (Number.isNaN(received)) {
      received = Date.parse(receivedAt);
      if (Number.isNaN(received)) return;
    }
    const t = Date.parse(row.time);
    const bound =
      t > received + marginMs
        ? 'future'
        : o.past_margin_days !== null && t < received - o.past_margin_days * DAY_MS
          ? 'past'
          : null;
    if (bound === null) continue;
    const event = row.attrs.event;
    row.attrs.event = {
      ...(typeof event === 'object' && event !== null && !Array.isArray(event) ? event : {}),
      original_time: row.time,
      time_clamped: bound,
    };
    row.time = row.receivedAt;
    clamped.inc({ bound });
  }
}
