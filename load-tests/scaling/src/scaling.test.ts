import { describe, expect, it } from 'vitest';
import {
  cpuSecondsPerMillion,
  eventsPerSecond,
  type RunFigures,
  scalingEfficiency,
  shortfallReason,
} from './scaling.js';

const two = (machine: number, seconds = 10): RunFigures => ({
  processes: 2,
  events: 1_000_000,
  seconds,
  cpu: { measured: 12, loadGenerator: 4, broker: 3, database: 0, machine },
});

describe('scaling figures', () => {
  it('efficiency is the 2-process rate over twice the 1-process rate', () => {
    expect(scalingEfficiency(100_000, 200_000)).toBe(1);
    expect(scalingEfficiency(100_000, 100_000)).toBe(0.5);
    expect(scalingEfficiency(100_000, 150_000)).toBe(0.75);
    expect(() => scalingEfficiency(0, 1)).toThrow(/positive/);
  });

  it('rates and CPU per million events', () => {
    expect(eventsPerSecond({ events: 500_000, seconds: 4 })).toBe(125_000);
    expect(eventsPerSecond({ events: 5, seconds: 0 })).toBe(0);
    expect(cpuSecondsPerMillion(3, 500_000)).toBe(6);
    expect(cpuSecondsPerMillion(3, 0)).toBe(0);
  });
});

describe('shortfallReason', () => {
  it('says nothing at 0.9 or above', () => {
    expect(shortfallReason(two(19.5), 2, 0.9)).toBeNull();
  });

  it('names saturated cores and who held them, as shares of the machine CPU', () => {
    const why = shortfallReason(two(19.5), 2, 0.7)!;
    expect(why).toMatch(/^the 2 cores were saturated \(1\.95 of 2 busy/);
    expect(why).toContain('the measured processes 62 %');
    expect(why).toContain('the load generator 21 %');
    expect(why).toContain('the Kafka broker 15 %');
    expect(why).not.toContain('PostgreSQL');
  });

  it('points away from CPU when the cores were not full', () => {
    expect(shortfallReason(two(10), 2, 0.6)).toMatch(/not saturated \(1\.00 of 2 busy.*serial stage/);
  });
});
