import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_COLUMNS } from './columns.js';
import { defaultMigrationsDir, loadMigrations, renderSql } from './sql-files.js';

describe('migration files', () => {
  const dir = defaultMigrationsDir();

  it('gives both engines the same versions, in order', () => {
    const ts = loadMigrations(dir, 'timescaledb');
    const pg = loadMigrations(dir, 'postgres');
    expect(ts.map((m) => m.version)).toEqual(pg.map((m) => m.version));
    expect(ts.map((m) => m.version)).toEqual([...ts.map((m) => m.version)].sort((a, b) => a - b));
    expect(ts[0]!.file).toBe('0001_events.timescaledb.sql');
    expect(pg[0]!.file).toBe('0001_events.postgres.sql');
  });

  it('declares the events columns the writer writes, in the same order, on both engines', () => {
    for (const engine of ['timescaledb', 'postgres'] as const) {
      const sql = loadMigrations(dir, engine)[0]!.template;
      const body = sql.slice(
        sql.indexOf('create table {{schema}}.events ('),
        sql.indexOf('constraint events_pkey'),
      );
      const declared = [
        ...body.matchAll(/^\s{2}([a-z_]+)\s+(timestamptz|text|uuid|inet|smallint|integer|bigint|jsonb)\b/gm),
      ].map((m) => [m[1], m[2]]);
      expect(declared, engine).toEqual(EVENT_COLUMNS.map((c) => [c.column, c.type]));
    }
  });

  it('puts the schema in as a quoted identifier and refuses anything else', () => {
    expect(renderSql('create table {{schema}}.events', 'siem_x')).toBe('create table "siem_x".events');
    expect(() => renderSql('x', 'Bad"; drop')).toThrow(/invalid SQL identifier/);
  });

  it('refuses a version with both a common and an engine file', () => {
    const copy = mkdtempSync(join(tmpdir(), 'siem-migrations-'));
    try {
      cpSync(dir, copy, { recursive: true });
      writeFileSync(join(copy, '0001_events.sql'), readFileSync(join(dir, '0001_events.postgres.sql')));
      expect(() => loadMigrations(copy, 'postgres')).toThrow(/both a common and a postgres file/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
