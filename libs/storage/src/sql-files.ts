import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SiemError } from '@siem/core';
import { ident } from './pool.js';

export type Engine = 'timescaledb' | 'postgres';

export interface Migration {
  version: number;
  name: string;
  file: string;
  /** The template text (before the schema is put in); its checksum is what is recorded. */
  template: string;
  checksum: string;
}

/**
 * The repository's `sql/migrations` folder, found upwards from this module so it is the same from the
 * TypeScript sources and from the compiled `dist/`. Images that run the compiled code ship `sql/` beside
 * `libs/`.
 */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'sql', 'migrations');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) {
      throw new SiemError(
        'SIEM_ERR_DB_MIGRATION',
        'cannot find the sql/migrations folder above the storage library',
      );
    }
    dir = up;
  }
}

const FILE = /^(\d{4})_([a-z0-9_]+?)(?:\.(timescaledb|postgres))?\.sql$/;

/**
 * The migrations for one engine, in version order. A version is either one common file
 * (`0003_name.sql`) or one file per engine (`0003_name.timescaledb.sql` + `0003_name.postgres.sql`).
 */
export function loadMigrations(dir: string, engine: Engine): Migration[] {
  const byVersion = new Map<number, { common?: string; own?: string; name: string }>();
  for (const f of readdirSync(dir).sort()) {
    const m = FILE.exec(f);
    if (m === null) continue;
    const version = Number(m[1]);
    const entry = byVersion.get(version) ?? { name: m[2]! };
    if (entry.name !== m[2]) {
      throw new SiemError(
        'SIEM_ERR_DB_MIGRATION',
        `migration ${m[1]} has two names (${entry.name}, ${m[2]})`,
      );
    }
    if (m[3] === undefined) entry.common = f;
    else if (m[3] === engine) entry.own = f;
    byVersion.set(version, entry);
  }
  const out: Migration[] = [];
  for (const [version, entry] of [...byVersion].sort((a, b) => a[0] - b[0])) {
    if (entry.common !== undefined && entry.own !== undefined) {
      throw new SiemError(
        'SIEM_ERR_DB_MIGRATION',
        `migration ${version} has both a common and a ${engine} file`,
      );
    }
    const file = entry.own ?? entry.common;
    if (file === undefined) continue; // only for the other engine
    const template = readFileSync(join(dir, file), 'utf8');
    out.push({
      version,
      name: entry.name,
      file,
      template,
      checksum: createHash('sha256').update(template).digest('hex'),
    });
  }
  return out;
}

/** Puts the schema name into a migration template (`{{schema}}`). */
export function renderSql(template: string, schema: string): string {
  return template.replaceAll('{{schema}}', ident(schema));
}
