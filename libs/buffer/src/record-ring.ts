import type { BufferRecord } from '@siem/core';

const INITIAL_SLOTS = 1024;

/** A packed array of `n` holes. (`new Array(n)` of a large n makes a slow dictionary-mode array in V8.) */
function emptySlots(n: number): Array<BufferRecord | undefined> {
  const slots: Array<BufferRecord | undefined> = [];
  for (let i = 0; i < n; i++) slots.push(undefined);
  return slots;
}

/** Bytes an event occupies in the ring's accounting: its key and its value (object overhead excluded). */
export function recordBytes(record: BufferRecord): number {
  return record.key.length + record.value.length;
}

/**
 * A circular FIFO of records, bounded in events. Batches go in and out; the ring stores the caller's
 * record objects themselves (no copy, no wrapper), so a push or a pop allocates nothing per event.
 * The slot array starts small and doubles up to the capacity, so an idle buffer configured for a
 * million events does not hold a million-slot array.
 */
export class RecordRing {
  readonly capacity: number;
  #slots: Array<BufferRecord | undefined>;
  #head = 0;
  #count = 0;
  #bytes = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be >= 1');
    this.capacity = capacity;
    this.#slots = emptySlots(Math.min(capacity, INITIAL_SLOTS));
  }

  get size(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get free(): number {
    return this.capacity - this.#count;
  }

  /** Appends `records[from, to)`; the caller checks the room first (throws when it does not fit). */
  push(records: readonly BufferRecord[], from = 0, to = records.length): void {
    const n = to - from;
    if (n > this.capacity - this.#count) throw new RangeError('ring overflow');
    if (this.#count + n > this.#slots.length) this.#grow(this.#count + n);
    const slots = this.#slots;
    const len = slots.length;
    let tail = this.#head + this.#count;
    if (tail >= len) tail -= len;
    let bytes = 0;
    for (let i = from; i < to; i++) {
      const r = records[i]!;
      slots[tail] = r;
      bytes += r.key.length + r.value.length;
      if (++tail === len) tail = 0;
    }
    this.#count += n;
    this.#bytes += bytes;
  }

  /** Moves up to `max` records from the head into `out` (appended); returns how many. */
  shiftInto(out: BufferRecord[], max: number): number {
    const n = Math.min(max, this.#count);
    const slots = this.#slots;
    const len = slots.length;
    let head = this.#head;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const r = slots[head]!;
      slots[head] = undefined; // release the reference: a popped event must be collectable
      out.push(r);
      bytes += r.key.length + r.value.length;
      if (++head === len) head = 0;
    }
    this.#head = head;
    this.#count -= n;
    this.#bytes -= bytes;
    return n;
  }

  /** Empties the ring into `out` in FIFO order. */
  drainInto(out: BufferRecord[]): number {
    return this.shiftInto(out, this.#count);
  }

  #grow(needed: number): void {
    let size = this.#slots.length;
    while (size < needed) size *= 2;
    size = Math.min(size, this.capacity);
    const next = emptySlots(size);
    const slots = this.#slots;
    const len = slots.length;
    for (let i = 0, j = this.#head; i < this.#count; i++) {
      next[i] = slots[j];
      if (++j === len) j = 0;
    }
    this.#slots = next;
    this.#head = 0;
  }
}
