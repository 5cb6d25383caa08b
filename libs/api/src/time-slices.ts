import { SiemError } from '@siem/core';

/**
 * Reading a time range in slices, newest first, each slice its own short statement.
 *
 * On an engine that cannot cancel a running statement (the embedded TimescaleDB: PGlite runs one
 * statement at a time for every connection and nothing interrupts WebAssembly that is running, so
 * statement_timeout is not enforced), a query over a day of rows would hold the engine — and every
 * writer behind it — for as long as it runs. Sliced, no statement reads more than a budget of rows
 * and text: other connections (the event writer among them) get the engine between slices, and the
 * query's own timeout is enforced by the client between slices.
 *
 * Windows are sized by what they hold, as a probe counts it before each slice (from the primary key
 * and the rows' headers, without reading the texts), not by how long the last slice took: with other
 * connections' statements queued in between, every slice would look slow and the windows would
 * collapse into many tiny statements, each waiting its turn.
 */
export interface SliceOptions {
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
   * range's end down to now is the first window, and the windows of initialMs start from now.
   */
  nowMs?: number;
  /** What a window holds: rows (counting stops past the budget's), and bytes of the text a filter reads. */
  probe: (window: TimeWindow) => Promise<Held>;
  /** What one slice may read. */
  budget: Held;
}

export interface TimeWindow {
  fromMs: number;
  toMs: number;
}

export interface Held {
  rows: number;
  bytes: number;
}

/**
 * The smallest window: a slice is never narrower than this, however dense the rows (10 ms of the
 * largest events the intake takes at the embedded engine's rate is a few rows).
 */
const MIN_WINDOW_MS = 10;

export const SLICES = { initialMs: 5 * 60_000 } as const;

/** What one slice may read: rows, and bytes of the text a filter reads (tens of ms on the embedded engine). */
export const SLICE_BUDGET: Held = { rows: 10_000, bytes: 1_048_576 };

/**
 * Calls `slice({ fromMs, toMs })` for consecutive windows from `hiMs` down to `loMs` until it returns
 * true (done) or the range is covered. Each window is probed first; one over budget is narrowed in
 * proportion (to half of what would fit: rows are rarely spread evenly; to a quarter when the count
 * stopped at its cap) and probed again. The next window aims at half the budget, at most four times
 * the last. Past timeoutMs, throws SIEM_ERR_TIMEOUT (after the slice that crossed it).
 */
export async function scanNewestFirst(
  loMs: number,
  hiMs: number,
  o: SliceOptions,
  slice: (window: TimeWindow) => Promise<boolean>,
): Promise<void> {
  if (!Number.isFinite(loMs) || !Number.isFinite(hiMs))
    throw new RangeError('scanNewestFirst: bounds must be finite');
  const started = performance.now();
  const min = Math.max(1, o.minWindowMs ?? MIN_WINDOW_MS);
  const part = (n: number, of: number) => (n <= 0 ? 0 : of <= 0 ? Number.POSITIVE_INFINITY : n / of);
  const share = (held: Held) => Math.max(part(held.rows, o.budget.rows), part(held.bytes, o.budget.bytes));
  let window = Math.max(min, o.initialMs);
  let hi = hiMs;
  // the future first, on its own: usually empty, it must not be what a narrowed window keeps
  let future = o.nowMs !== undefined && o.nowMs > loMs && o.nowMs < hiMs;
  while (hi > loMs) {
    let lo = future ? (o.nowMs as number) : Math.max(loMs, hi - window);
    let held = await o.probe({ fromMs: lo, toMs: hi });
    while (share(held) > 1 && hi - lo > min) {
      const margin = held.rows > o.budget.rows ? 4 : 2;
      lo = Math.max(loMs, hi - Math.max(min, Math.floor((hi - lo) / share(held) / margin)));
      held = await o.probe({ fromMs: lo, toMs: hi });
    }
    if (await slice({ fromMs: lo, toMs: hi })) return;
    const width = hi - lo;
    hi = lo;
    if (hi > loMs && performance.now() - started > o.timeoutMs) {
      throw new SiemError('SIEM_ERR_TIMEOUT', o.timeoutMessage);
    }
    if (future) future = false;
    else {
      const s = share(held);
      window = Math.max(min, Math.round(width * (s <= 0.125 ? 4 : 0.5 / s)));
    }
  }
}
