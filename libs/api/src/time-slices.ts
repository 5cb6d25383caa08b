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
  /** The whole scan may take this long; the slice that ends past it is the last (SIEM_ERR_TIMEOUT). */
  timeoutMs: number;
  /** What the timeout error tells the client. */
  timeoutMessage: string;
  /**
   * Rows later than this are rare (the future: clocks ahead, within the normalizer's margin): the
   * first window reaches from the range's end down to initialMs before it, not initialMs before the end.
   */
  nowMs?: number;
}

/** The smallest window: a slice is never narrower than this, however dense the rows. */
const MIN_WINDOW_MS = 1_000;

export const SLICES = { targetMs: 25, initialMs: 5 * 60_000 } as const;

/**
 * Calls `slice({ fromMs, toMs })` for consecutive windows from `hiMs` down to `loMs` until it returns
 * true (done) or the range is covered. The next window is scaled by targetMs / elapsed (a quarter to
 * four times the last). Past timeoutMs, throws SIEM_ERR_TIMEOUT (after the slice that crossed it).
 */
export async function scanNewestFirst(
  loMs: number,
  hiMs: number,
  o: SliceOptions,
  slice: (window: { fromMs: number; toMs: number }) => Promise<boolean>,
): Promise<void> {
  const started = performance.now();
  let window = Math.max(MIN_WINDOW_MS, o.initialMs);
  let hi = hiMs;
  let first = true;
  while (hi > loMs) {
    const lo = Math.max(loMs, (first && o.nowMs !== undefined ? Math.min(hi, o.nowMs) : hi) - window);
    first = false;
    const t0 = performance.now();
    if (await slice({ fromMs: lo, toMs: hi })) return;
    const now = performance.now();
    hi = lo;
    if (hi > loMs && now - started > o.timeoutMs) throw new SiemError('SIEM_ERR_TIMEOUT', o.timeoutMessage);
    const scale = o.targetMs / Math.max(1, now - t0);
    window = Math.max(MIN_WINDOW_MS, Math.round(window * Math.min(4, Math.max(0.25, scale))));
  }
}
