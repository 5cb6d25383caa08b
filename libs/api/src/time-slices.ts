import { SiemError } from '@siem/core';

/**
 * Reading a time range in slices, newest first, each slice its own short statement.
 *
 * On an engine that cannot cancel a running statement (the embedded TimescaleDB: PGlite runs one
 * statement at a time for every connection and nothing interrupts WebAssembly that is running, so
 * statement_timeout is not enforced), a query over a day of rows would hold the engine — and every
 * writer behind it — for as long as it runs. Sliced, no statement runs much longer than `targetMs`:
 * other connections (the event writer among them) get the engine between slices, and the query's own
 * timeout is enforced by the client between slices.
 */
export interface SliceOptions {
  /** Each slice should take about this long; the window grows or shrinks towards it. */
  targetMs: number;
  /** The first window. */
  initialMs: number;
  /** The narrowest window (default MIN_WINDOW_MS). */
  minWindowMs?: number;
  /** The whole scan may take this long; the slice that ends past it is the last (SIEM_ERR_TIMEOUT). */
  timeoutMs: number;
  /** What the timeout error tells the client. */
  timeoutMessage: string;
  /**
   * Rows later than this are rare (the future: clocks ahead, within the normalizer's margin): the
   * first window reaches from the range's end down to initialMs before it, not initialMs before the end.
   */
  nowMs?: number;
  /**
   * Before the first slice and each one wider than the last: what its window holds (rows, and bytes
   * of the text a filter reads), counted cheaply. Time alone cannot see a burst (90 MB of events in
   * one second after a quiet hour): a window holding more than `budget` is narrowed, in proportion,
   * before it is read.
   */
  probe?: (window: TimeWindow) => Promise<{ rows: number; bytes: number }>;
  budget?: { rows: number; bytes: number };
}

export interface TimeWindow {
  fromMs: number;
  toMs: number;
}

/**
 * The smallest window: a slice is never narrower than this, however dense the rows (10 ms of the
 * largest events the intake takes at the embedded engine's rate is a few rows).
 */
const MIN_WINDOW_MS = 10;

export const SLICES = { targetMs: 25, initialMs: 5 * 60_000 } as const;

/** What one slice may hold when a probe says so: rows, and bytes of the text a filter reads. */
export const SLICE_BUDGET = { rows: 20_000, bytes: 1_048_576 } as const;

/**
 * Calls `slice({ fromMs, toMs })` for consecutive windows from `hiMs` down to `loMs` until it returns
 * true (done) or the range is covered. The next window is scaled by targetMs / elapsed (a sixteenth
 * to four times the last: a dense burst is met quickly, an empty stretch crossed in a few slices),
 * and narrowed further when the probe finds it holds more than the budget. Past timeoutMs, throws
 * SIEM_ERR_TIMEOUT (after the slice that crossed it).
 */
export async function scanNewestFirst(
  loMs: number,
  hiMs: number,
  o: SliceOptions,
  slice: (window: TimeWindow) => Promise<boolean>,
): Promise<void> {
  const started = performance.now();
  const min = o.minWindowMs ?? MIN_WINDOW_MS;
  let window = Math.max(min, o.initialMs);
  let hi = hiMs;
  let first = true;
  // the first window, and one grown from the last, may hold a burst time cannot see: probe those
  let probeNext = true;
  while (hi > loMs) {
    let lo = Math.max(loMs, (first && o.nowMs !== undefined ? Math.min(hi, o.nowMs) : hi) - window);
    first = false;
    if (probeNext && o.probe !== undefined && o.budget !== undefined) {
      for (;;) {
        const held = await o.probe({ fromMs: lo, toMs: hi });
        const over = Math.max(held.rows / o.budget.rows, held.bytes / o.budget.bytes);
        if (over <= 1 || hi - lo <= min) break;
        // to half of what would just fit (the rows are rarely spread evenly); a quarter when the rows
        // reached the probe's cap, where `over` is only a lower bound
        const margin = held.rows > o.budget.rows ? 4 : 2;
        window = Math.max(min, Math.floor((hi - lo) / over / margin));
        lo = Math.max(loMs, hi - window);
      }
    }
    const t0 = performance.now();
    if (await slice({ fromMs: lo, toMs: hi })) return;
    const now = performance.now();
    hi = lo;
    if (hi > loMs && now - started > o.timeoutMs) throw new SiemError('SIEM_ERR_TIMEOUT', o.timeoutMessage);
    const scale = o.targetMs / Math.max(1, now - t0);
    const next = Math.max(min, Math.round(window * Math.min(4, Math.max(1 / 16, scale))));
    probeNext = next > window;
    window = next;
  }
}
