/** The figures of one scaling case (1 vs 2 processes) and the reading of them. */

export interface RunFigures {
  processes: number;
  events: number;
  seconds: number;
  /** CPU seconds over the measured interval, by who spent them. */
  cpu: { measured: number; loadGenerator: number; broker: number; database: number; machine: number };
}

/** 2-process rate / (2 × 1-process rate): 1 is linear scaling, 0.5 is none. */
export function scalingEfficiency(oneRate: number, twoRate: number): number {
  if (!(oneRate > 0) || !(twoRate >= 0)) throw new Error(`rates must be positive: ${oneRate}, ${twoRate}`);
  return twoRate / (2 * oneRate);
}

export function eventsPerSecond(r: Pick<RunFigures, 'events' | 'seconds'>): number {
  return r.seconds > 0 ? r.events / r.seconds : 0;
}

export function cpuSecondsPerMillion(cpuSeconds: number, events: number): number {
  return events > 0 ? (cpuSeconds / events) * 1e6 : 0;
}

/** Cores busy on average over the interval (CPU seconds / wall seconds). */
export function coresBusy(cpuSeconds: number, seconds: number): number {
  return seconds > 0 ? cpuSeconds / seconds : 0;
}

/**
 * Why the 2-process run did not double the rate, from where the CPU went in it: the machine's cores
 * were full (and who besides the measured processes held them), or they were not (then the limit was
 * elsewhere: the partitions, the broker or the database as a serial stage). Null at 0.9 or above.
 */
export function shortfallReason(two: RunFigures, cores: number, efficiency: number): string | null {
  if (efficiency >= 0.9) return null;
  const busy = coresBusy(two.cpu.machine, two.seconds);
  const share = (x: number) => `${Math.round((x / Math.max(two.cpu.machine, 1e-9)) * 100)} %`;
  const others = [
    ['the load generator', two.cpu.loadGenerator],
    ['the Kafka broker', two.cpu.broker],
    ['PostgreSQL', two.cpu.database],
  ] as const;
  const named = others
    .filter(([, s]) => s > 0)
    .map(([who, s]) => `${who} ${share(s)}`)
    .join(', ');
  const held = `the measured processes ${share(two.cpu.measured)}${named === '' ? '' : `, ${named}`}`;
  if (busy >= cores * 0.85) {
    return (
      `the ${cores} cores were saturated (${busy.toFixed(2)} of ${cores} busy on average) and shared: ` +
      `of the machine's CPU time ${held}, the rest other work on the machine; a second process can only ` +
      `take CPU time from the first one and from these`
    );
  }
  return (
    `the cores were not saturated (${busy.toFixed(2)} of ${cores} busy; ${held}): the limit was a ` +
    'shared serial stage, not CPU'
  );
}
