import type { BufferRecord, Lease } from '@siem/core';
import type { FrameKey } from './ledger.js';
import type { BufferCounters } from './metrics.js';
import type { Segment } from './segment-writer.js';

/** A frame of a segment file that was read and handed out (at least in part). */
export interface FrameRef extends FrameKey {
  seg: Segment;
}

/** Events `from` (inclusive) to `to` (exclusive) of one frame. */
export interface Slice {
  frame: FrameRef;
  from: number;
  to: number;
}

export type Origin = 'mem' | 'disk';

export class BufferLease implements Lease {
  readonly id: number;
  readonly records: readonly BufferRecord[];
  /** Queue position of the first event: nacked leases go back in this order. */
  readonly position: number;
  readonly origin: Origin;
  /** Where disk events came from (empty for memory leases). */
  readonly slices: readonly Slice[];
  /** Bytes held in memory (0 for disk leases, whose memory is not counted against the ring). */
  readonly bytes: number;

  constructor(
    id: number,
    records: BufferRecord[],
    position: number,
    origin: Origin,
    slices: Slice[],
    bytes: number,
  ) {
    this.id = id;
    this.records = records;
    this.position = position;
    this.origin = origin;
    this.slices = slices;
    this.bytes = bytes;
  }
}

/** A nacked lease waiting to go out again. */
export interface RequeuedItem {
  position: number;
  records: BufferRecord[];
  origin: Origin;
  slices: Slice[];
  bytes: number;
}

function sumBytes(records: readonly BufferRecord[]): number {
  let n = 0;
  for (const r of records) n += r.key.length + r.value.length;
  return n;
}

/** Splits `slices` after `k` events. */
function splitSlices(slices: readonly Slice[], k: number): [Slice[], Slice[]] {
  const head: Slice[] = [];
  const tail: Slice[] = [];
  let left = k;
  for (const s of slices) {
    const n = s.to - s.from;
    if (left >= n) {
      head.push(s);
      left -= n;
    } else if (left > 0) {
      head.push({ frame: s.frame, from: s.from, to: s.from + left });
      tail.push({ frame: s.frame, from: s.from + left, to: s.to });
      left = 0;
    } else {
      tail.push(s);
    }
  }
  return [head, tail];
}

/**
 * The leases of one buffer: those handed out and not yet acked or nacked, and nacked ones waiting to
 * go out again, which the buffer serves ahead of everything not yet handed out. Nacked leases keep
 * their queue position, so they go out again in their original order among themselves. A lease
 * settles once: an ack or nack of a lease that is not outstanding (settled already, or taken back at
 * close) changes nothing and is counted as late. What a settled lease releases (ring memory, ledger
 * ranges) is the buffer's business.
 */
export class LeaseBook {
  readonly #counters: BufferCounters;
  readonly #outstanding = new Map<number, BufferLease>();
  #requeued: RequeuedItem[] = [];
  #seq = 0;
  #position = 0;
  #onEmpty: (() => void) | null = null;

  constructor(counters: BufferCounters) {
    this.#counters = counters;
  }

  /** Leases handed out and not settled. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  get hasRequeued(): boolean {
    return this.#requeued.length > 0;
  }

  /** Events of nacked leases waiting to go out again. */
  requeuedEvents(): number {
    let n = 0;
    for (const r of this.#requeued) n += r.records.length;
    return n;
  }

  /** A new lease; `position` is given for a requeued item, otherwise the events take the next one. */
  hand(
    records: BufferRecord[],
    origin: Origin,
    slices: Slice[],
    bytes: number,
    position?: number,
  ): BufferLease {
    const pos = position ?? this.#position;
    if (position === undefined) this.#position += records.length;
    const lease = new BufferLease(++this.#seq, records, pos, origin, slices, bytes);
    this.#outstanding.set(lease.id, lease);
    return lease;
  }

  /** Up to `max` events of the first requeued item, as a lease (the item is split if larger). */
  takeRequeued(max: number): BufferLease {
    const item = this.#requeued[0]!;
    let lease: BufferLease;
    if (item.records.length <= max) {
      this.#requeued.shift();
      lease = this.hand(item.records, item.origin, item.slices, item.bytes, item.position);
    } else {
      const records = item.records.slice(0, max);
      const [head, tail] = splitSlices(item.slices, max);
      const bytes = item.origin === 'mem' ? sumBytes(records) : 0;
      lease = this.hand(records, item.origin, head, bytes, item.position);
      item.records = item.records.slice(max);
      item.slices = tail;
      item.bytes -= bytes;
      item.position += max;
    }
    this.#counters.redelivered.nack += lease.records.length;
    return lease;
  }

  /** The outstanding lease behind `lease`, now no longer outstanding; null (counted) if it is not one. */
  settle(lease: Lease): BufferLease | null {
    const l = this.#outstanding.get(lease.id);
    if (l === undefined || l !== lease) {
      this.#counters.lateAcks++;
      return null;
    }
    this.#outstanding.delete(l.id);
    return l;
  }

  /** Call once a settled lease is fully processed: wakes a close waiting for the last one. */
  settled(): void {
    if (this.#outstanding.size === 0) this.#onEmpty?.();
  }

  /** Puts a lease back ahead of everything not handed out, by position among the requeued. */
  requeue(l: BufferLease): void {
    const item: RequeuedItem = {
      position: l.position,
      records: [...l.records],
      origin: l.origin,
      slices: [...l.slices],
      bytes: l.bytes,
    };
    let i = this.#requeued.length;
    while (i > 0 && this.#requeued[i - 1]!.position > item.position) i--;
    this.#requeued.splice(i, 0, item);
  }

  /** Resolves when no lease is outstanding any more, or after `ms`, whichever comes first. */
  async drain(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.#onEmpty = resolve;
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
    this.#onEmpty = null;
  }

  /** Takes back every outstanding lease, in queue order: acks arriving later count as late. */
  takeBackAll(): void {
    for (const lease of [...this.#outstanding.values()].sort((a, b) => a.position - b.position)) {
      this.requeue(lease);
    }
    this.#outstanding.clear();
  }

  /** Forgets every outstanding lease (a crash, simulated). */
  dropOutstanding(): void {
    this.#outstanding.clear();
  }

  /** Removes and returns the requeued items, in queue order. */
  drainRequeued(): RequeuedItem[] {
    const items = this.#requeued;
    this.#requeued = [];
    return items;
  }
}
