import { EVENT_COLUMN_LIST } from './columns.js';

/**
 * The statements of the plain-then-staged COPY of event rows, shared by the writer's COPY over the
 * wire (write-paths.ts) and the embedded engine's bulk channel (embedded/bulk-server.ts): a plain COPY
 * into the table first; on a duplicate key (a replay), COPY into a temporary table of the same shape
 * and INSERT … ON CONFLICT DO NOTHING from it, in one transaction.
 */
export type CopyFormat = 'text' | 'binary';

export function copyEventsSql(
  table: string,
  source: 'stdin' | `'/dev/blob'`,
  format: CopyFormat = 'text',
): string {
  return `copy ${table} (${EVENT_COLUMN_LIST}) from ${source}${format === 'binary' ? ' with (format binary)' : ''}`;
}

export function stagedCopySql(
  table: string,
  stage: string,
  source: 'stdin' | `'/dev/blob'`,
  format: CopyFormat = 'text',
): { create: string; copy: string; insert: string } {
  return {
    create: `create temp table if not exists ${stage} (like ${table} including defaults) on commit delete rows`,
    copy: copyEventsSql(stage, source, format),
    insert: `insert into ${table} (${EVENT_COLUMN_LIST}) select ${EVENT_COLUMN_LIST} from ${stage} on conflict do nothing`,
  };
}
