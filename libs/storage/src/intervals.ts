import { SiemError } from '@siem/core';

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/**
 * A configured age or width (`7 days`, `12 hours`) in milliseconds. The same text is handed to
 * PostgreSQL as an interval literal, so both sides agree (days are 24 h: ages are measured in UTC).
 */
export function intervalMs(text: string): number {
  const m = /^([1-9][0-9]*) ?(minute|hour|day|week)s?$/.exec(text.trim());
  if (m === null)
    throw new SiemError('SIEM_ERR_CONFIG_INVALID', `"${text}" is not an interval like "7 days"`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Bytes one stored event takes with its indexes, uncompressed (measured by the storage-tier-sizes bench). */
export const BYTES_PER_EVENT_ESTIMATE = 900;

const CHUNK_CHOICES = [
  '1 hour',
  '2 hours',
  '3 hours',
  '4 hours',
  '6 hours',
  '8 hours',
  '12 hours',
  '1 day',
  '2 days',
  '7 days',
];

/**
 * The chunk (partition) width. `auto` picks the widest standard width whose chunk, at the expected
 * ingest rate, stays under the target size — TimescaleDB's advice is that the newest chunk with its
 * indexes should fit in about a quarter of the database's memory. Widths are whole hours so hourly
 * and daily rollup buckets never straddle two chunks.
 */
export function chooseChunkInterval(setting: string, eventsPerSecond: number, targetMb: number): string {
  if (setting !== 'auto') {
    intervalMs(setting);
    return setting;
  }
  const bytesPerMs = (eventsPerSecond * BYTES_PER_EVENT_ESTIMATE) / 1000;
  const widestMs = (targetMb * 1024 * 1024) / bytesPerMs;
  let chosen = CHUNK_CHOICES[0]!;
  for (const c of CHUNK_CHOICES) if (intervalMs(c) <= widestMs) chosen = c;
  return chosen;
}

/** Checks that the tier ages increase: hot < warm < cold < frozen. */
export function checkTierAges(ages: { warmAfter: string; coldAfter: string; frozenAfter: string }): void {
  const warm = intervalMs(ages.warmAfter);
  const cold = intervalMs(ages.coldAfter);
  const frozen = intervalMs(ages.frozenAfter);
  if (!(warm <= cold && cold <= frozen)) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `storage.tiers: ages must not decrease (warm_after ${ages.warmAfter} ≤ cold_after ${ages.coldAfter} ≤ frozen_after ${ages.frozenAfter})`,
    );
  }
}
