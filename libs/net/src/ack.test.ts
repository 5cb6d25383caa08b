import { describe, expect, it } from 'vitest';
import { HeldAcks } from './ack.js';

describe('HeldAcks (the ACK hook)', () => {
  it('acknowledges at once while the intake takes, holds while paused, releases in order', () => {
    const written: number[] = [];
    const acks = new HeldAcks<number>((seq) => written.push(seq));
    acks.taken(3, false);
    expect(written).toEqual([3]);
    // paused: the later position of one group replaces the held one
    acks.taken(5, true);
    acks.taken(7, true);
    expect(acks.holding).toBe(true);
    expect(written).toEqual([3]);
    // a new group (window) keeps the last one of the group before
    acks.nextGroup();
    acks.taken(2, true);
    acks.release();
    expect(written).toEqual([3, 7, 2]);
    expect(acks.holding).toBe(false);
    acks.release();
    expect(written).toEqual([3, 7, 2]);
  });
});
