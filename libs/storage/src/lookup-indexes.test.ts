import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOOKUP_INDEXES, lookupIndexMode } from './lookup-indexes.js';
import { defaultMigrationsDir } from './sql-files.js';

describe('lookup indexes', () => {
  it('are the indexes the TimescaleDB migration creates on the hypertable', () => {
    const sql = readFileSync(join(defaultMigrationsDir(), '0001_events.timescaledb.sql'), 'utf8');
    const created = [
      ...sql.matchAll(/^create index (\w+) on \{\{schema\}\}\.events \((.+)\) where (.+);$/gm),
    ].map((m) => ({ name: m[1], keys: m[2], where: m[3] }));
    expect(created).toHaveLength(6);
    expect(LOOKUP_INDEXES).toEqual(created);
  });

  it('are built on closed chunks on the embedded engine and on write elsewhere, unless configured', () => {
    expect(lookupIndexMode('auto', true)).toBe('closed_chunks');
    expect(lookupIndexMode('auto', false)).toBe('on_write');
    expect(lookupIndexMode('on_write', true)).toBe('on_write');
    expect(lookupIndexMode('closed_chunks', false)).toBe('closed_chunks');
  });
});
