import { storageMetrics as m } from './metrics.js';
import type { Pool, PoolClient } from './pool.js';

const HOUR_MS = 3_600_000;

/**
 * Plain PostgreSQL: the partitions of `<schema>.events` known to exist, as merged [start, end) ms
 * ranges, so the writer creates the ones a statement needs before writing (rare: the tier job makes
 * them ahead of time).
 */
export class PartitionCover {
  readonly #q: string;
  readonly #chunkInterval: string;
  #covered: Array<[number, number]> = [];

  /** `q` is the quoted schema name. */
  constructor(q: string, chunkInterval: string) {
    this.#q = q;
    this.#chunkInterval = chunkInterval;
  }

  /** Forgets what is known (a partition was dropped under us): the next `ensure` reloads. */
  reset(): void {
    this.#covered = [];
  }

  async load(client: PoolClient | Pool): Promise<void> {
    const r = await client.query<{ s: string; e: string }>(
      `select (extract(epoch from range_start) * 1000)::float8 as s, (extract(epoch from range_end) * 1000)::float8 as e
         from ${this.#q}.event_partitions() order by range_start`,
    );
    const merged: Array<[number, number]> = [];
    for (const row of r.rows) {
      const s = Number(row.s);
      const e = Number(row.e);
      const last = merged[merged.length - 1];
      if (last !== undefined && last[1] === s) last[1] = e;
      else merged.push([s, e]);
    }
    this.#covered = merged;
  }

  isCovered(t: number): boolean {
    const c = this.#covered;
    let lo = 0;
    let hi = c.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = c[mid]!;
      if (t < s) hi = mid - 1;
      else if (t >= e) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Creates the partitions these row times need. */
  async ensure(pool: Pool, times: number[]): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const missing = new Map<number, number>();
      for (const t of times) {
        if (!this.isCovered(t)) missing.set(Math.floor(t / HOUR_MS), t);
      }
      if (missing.size === 0) return;
      const r = await pool.query<{ n: number }>(
        `select ${this.#q}.ensure_partitions($1::timestamptz[], $2::interval) as n`,
        [[...missing.values()].map((t) => new Date(t).toISOString()), this.#chunkInterval],
      );
      m.tierActions.inc({ action: 'created' }, r.rows[0]?.n ?? 0);
      await this.load(pool);
    }
  }
}
