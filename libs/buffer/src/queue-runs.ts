import type { Segment } from './segment-writer.js';

/*
 * Everything the buffer accepted forms one FIFO queue of runs: consecutive batches that went to memory
 * make one memory run, consecutive batches spilled to disk one disk run. Consumers take from the head
 * run; nacked leases go ahead of all runs (see leases.ts).
 */

/** A run of the queue whose events are in the memory ring. */
export interface MemRun {
  kind: 'mem';
  count: number;
  startedAtMs: number;
  queued: boolean;
}

/** A run of the queue whose events are on disk. */
export interface DiskRun {
  kind: 'disk';
  /** Events of the run not yet handed out (Infinity for the data of earlier runs, read to its end). */
  remaining: number;
  old: boolean;
  /** Segment of the run's first frame (every disk run starts a segment of its own). */
  firstSegment: Segment | null;
  queued: boolean;
}

export type Run = MemRun | DiskRun;
