import type { BufferCounters } from './metrics.js';

export type BufferState = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/** A plain snapshot of what the buffer holds and has done (the metrics show the same figures). */
export interface BufferStats {
  state: BufferState;
  memoryEvents: number;
  memoryBytes: number;
  memoryFill: number;
  spilling: boolean;
  paused: boolean;
  diskBytes: number;
  diskSegments: number;
  pendingWriteBytes: number;
  diskHealthy: boolean;
  diskErrors: number;
  outstandingLeases: number;
  requeuedEvents: number;
  acceptedMemoryEvents: number;
  acceptedDiskEvents: number;
  spilledEvents: number;
  shutdownSpilledEvents: number;
  replayedEvents: number;
  ackedEvents: number;
  nackedEvents: number;
  droppedEvents: number;
  redeliveredAfterNack: number;
  redeliveredAfterCrash: number;
  corruptFrames: number;
  lostEvents: number;
  lateAcks: number;
}

function sum(m: Record<string, number>): number {
  return Object.values(m).reduce((a, b) => a + b, 0);
}

/** The stats of a buffer from its counters, whose gauges the caller has just refreshed. */
export function statsOf(
  state: BufferState,
  c: BufferCounters,
  diskHealthy: boolean,
  requeuedEvents: number,
): BufferStats {
  return {
    state,
    memoryEvents: c.memoryEvents,
    memoryBytes: c.memoryBytes,
    memoryFill: c.memoryFill,
    spilling: c.spilling,
    paused: c.paused,
    diskBytes: c.diskBytes,
    diskSegments: c.diskSegments,
    pendingWriteBytes: c.pendingWriteBytes,
    diskHealthy,
    diskErrors: sum(c.diskErrors),
    outstandingLeases: c.outstandingLeases,
    requeuedEvents,
    acceptedMemoryEvents: c.acceptedEvents.memory,
    acceptedDiskEvents: c.acceptedEvents.disk,
    spilledEvents: c.spilledEvents.overflow,
    shutdownSpilledEvents: c.spilledEvents.shutdown,
    replayedEvents: c.replayedEvents,
    ackedEvents: c.ackedEvents,
    nackedEvents: c.nackedEvents,
    droppedEvents: sum(c.dropped),
    redeliveredAfterNack: c.redelivered.nack,
    redeliveredAfterCrash: c.redelivered.crash,
    corruptFrames: sum(c.corruptFrames),
    lostEvents: sum(c.lostEvents),
    lateAcks: c.lateAcks,
  };
}
