import type { Kind } from './kinds/kind.js';

/**
 * What happened to the events of a run, per kind: sent (written to the socket, the datagram or the
 * file), acknowledged (the receiver's ACK — Lumberjack — or its 202 — HTTP; protocols without
 * acknowledgements leave it null), refused (the receiver answered no, or closed before it
 * acknowledged). Errors are counted by a bounded reason.
 */
export class Tally {
  readonly kinds: readonly Kind[];
  readonly sent: number[];
  readonly acknowledged: number[];
  readonly refused: number[];
  malformed = 0;
  bytes = 0;
  readonly errors = new Map<string, number>();
  /** The first message seen for each error reason (what the receiver said). */
  readonly errorMessages = new Map<string, string>();

  constructor(kinds: readonly Kind[]) {
    this.kinds = kinds;
    this.sent = kinds.map(() => 0);
    this.acknowledged = kinds.map(() => 0);
    this.refused = kinds.map(() => 0);
  }

  error(reason: string, n = 1, message?: string): void {
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + n);
    if (message !== undefined && !this.errorMessages.has(reason)) this.errorMessages.set(reason, message);
  }

  /** Adds `n` events of each kind listed in `kinds` (one entry per event) to `column`. */
  addKinds(column: number[], kinds: readonly number[] | Uint16Array): void {
    for (let i = 0; i < kinds.length; i++) column[kinds[i]!]!++;
  }

  total(column: readonly number[]): number {
    let n = 0;
    for (const v of column) n += v;
    return n;
  }
}
