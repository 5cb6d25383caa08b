import type { LoggerLike } from '@siem/core';
import { intervalMs } from './intervals.js';
import type { Pool } from './pool.js';
import { resolveSettings } from './settings.js';
import { runTiers, type TierOptions, type TierRunReport } from './tiers.js';

/**
 * Runs the tier job every `tiers.schedule` (first run shortly after start) in the normalizer and the all
 * role. Several processes may each run one: the job's advisory lock lets one of them work at a time.
 * A failed run is logged and counted by runTiers; the schedule goes on.
 */
export class TierScheduler {
  readonly #pool: Pool;
  readonly #options: TierOptions;
  readonly #everyMs: number;
  readonly #firstDelayMs: number;
  readonly #logger: LoggerLike | undefined;
  #timer: NodeJS.Timeout | null = null;
  #current: Promise<TierRunReport | null> | null = null;
  #stopped = false;

  constructor(pool: Pool, options: TierOptions & { firstDelayMs?: number } = {}) {
    this.#pool = pool;
    this.#options = options;
    this.#everyMs = intervalMs(resolveSettings(options).schedule);
    this.#firstDelayMs = options.firstDelayMs ?? 30_000;
    this.#logger = options.logger;
  }

  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#arm(this.#firstDelayMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      void this.runNow().finally(() => {
        if (!this.#stopped) this.#arm(this.#everyMs);
      });
    }, ms);
    this.#timer.unref();
  }

  /** Runs the job now (or joins the run in progress). Never rejects: a failure resolves null. */
  runNow(): Promise<TierRunReport | null> {
    this.#current ??= runTiers(this.#pool, this.#options)
      .catch((err: unknown) => {
        this.#logger?.error({ err: (err as Error).message }, 'tier job failed');
        return null;
      })
      .finally(() => {
        this.#current = null;
      });
    return this.#current;
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#current;
  }
}
