import type { NormalizedEvent } from '@siem/core';

/**
 * The columns of `<schema>.events`, in table order, with the NormalizedEvent field each one holds and
 * its SQL type. The writer (COPY column list, unnest casts), the archive and the migrations test all
 * read this list; sql/migrations/0001_events.*.sql must declare the same columns in the same order.
 */
export const EVENT_COLUMNS = [
  { column: 'time', field: 'time', type: 'timestamptz' },
  { column: 'received_at', field: 'receivedAt', type: 'timestamptz' },
  { column: 'tenant_id', field: 'tenantId', type: 'text' },
  { column: 'event_id', field: 'eventId', type: 'uuid' },
  { column: 'source_type', field: 'sourceType', type: 'text' },
  { column: 'host_name', field: 'hostName', type: 'text' },
  { column: 'host_ip', field: 'hostIp', type: 'inet' },
  { column: 'app_name', field: 'appName', type: 'text' },
  { column: 'severity', field: 'severity', type: 'smallint' },
  { column: 'category', field: 'category', type: 'text' },
  { column: 'action', field: 'action', type: 'text' },
  { column: 'outcome', field: 'outcome', type: 'text' },
  { column: 'user_name', field: 'userName', type: 'text' },
  { column: 'src_ip', field: 'srcIp', type: 'inet' },
  { column: 'src_port', field: 'srcPort', type: 'integer' },
  { column: 'dst_ip', field: 'dstIp', type: 'inet' },
  { column: 'dst_port', field: 'dstPort', type: 'integer' },
  { column: 'process_name', field: 'processName', type: 'text' },
  { column: 'process_pid', field: 'processPid', type: 'bigint' },
  { column: 'event_code', field: 'eventCode', type: 'text' },
  { column: 'message', field: 'message', type: 'text' },
  { column: 'attrs', field: 'attrs', type: 'jsonb' },
  { column: 'raw', field: 'raw', type: 'text' },
  { column: 'class_uid', field: 'classUid', type: 'integer' },
] as const satisfies ReadonlyArray<{ column: string; field: keyof NormalizedEvent; type: string }>;

export const EVENT_COLUMN_LIST = EVENT_COLUMNS.map((c) => c.column).join(', ');

/** A row as the database returns it (`row_to_json`), snake_case, back into a NormalizedEvent. */
export function eventFromRow(row: Record<string, unknown>): NormalizedEvent {
  const out: Record<string, unknown> = {};
  for (const c of EVENT_COLUMNS) out[c.field] = row[c.column] ?? null;
  return out as unknown as NormalizedEvent;
}
