/** What the live tail page and its worker (tail-worker.ts) say to each other. */
import type { NormalizedEvent } from './api';

/** Rows on screen; older ones scroll away. */
export const SHOWN = 200;
/** The page is sent new rows at most this often, however fast events arrive. */
export const RENDER_MS = 250;
/** When more than SHOWN rows arrive between frames (every row replaced), a frame at most this often. */
export const FULL_FRAME_MS = 1000;

export type ToWorker =
  | { type: 'open'; url: string; protocols: string[] }
  | { type: 'pause'; paused: boolean }
  | { type: 'close' };

export interface TailFrame {
  rows: NormalizedEvent[];
  received: number;
  /** Arrived but never drawn: more than SHOWN between two frames, or while paused. */
  skipped: number;
  /** The server's `dropped` notices: events it did not send this client because it fell behind. */
  dropped: number;
  rate: number;
  status: string;
}
