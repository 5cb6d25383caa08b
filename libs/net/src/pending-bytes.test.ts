import { describe, expect, it } from 'vitest';
import { PendingBytesBudget } from './pending-bytes.js';

describe('the process-wide pending-bytes budget', () => {
  it('over capacity, closes the holders holding the most until it fits', () => {
    const budget = new PendingBytesBudget();
    budget.addCapacity(1000);
    const evicted: string[] = [];
    const holder = (name: string) => ({ name, evict: () => evicted.push(name) });
    const [a, b, c] = [holder('a'), holder('b'), holder('c')];
    expect(budget.set(a, 600, a.evict)).toBe(true);
    expect(budget.set(b, 300, b.evict)).toBe(true);
    expect(budget.used).toBe(900);
    // c pushes it over: the largest (a) goes, c stays
    expect(budget.set(c, 200, c.evict)).toBe(true);
    expect(evicted).toEqual(['a']);
    expect(budget.used).toBe(500);
    // a holder that grows past everyone else is the one closed
    expect(budget.set(b, 900, b.evict)).toBe(false);
    expect(evicted).toEqual(['a', 'b']);
    expect(budget.used).toBe(200);
    budget.set(c, 0, c.evict); // nothing held: released
    expect(budget.used).toBe(0);
    budget.removeCapacity(1000);
    expect(budget.capacity).toBe(0);
  });
});
