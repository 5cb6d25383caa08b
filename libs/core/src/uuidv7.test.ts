import { describe, expect, it } from 'vitest';
import { uuidv7, uuidv7Time } from './uuidv7.js';

describe('uuidv7', () => {
  it('has the RFC 9562 layout and carries its millisecond', () => {
    const ms = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const id = uuidv7(ms);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7Time(id)).toBe(ms);
  });

  it('sorts in creation order, also within one millisecond and when the clock steps back', () => {
    const ms = Date.now() + 10_000;
    const ids = [uuidv7(ms)];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(ms));
    ids.push(uuidv7(ms - 5_000));
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
