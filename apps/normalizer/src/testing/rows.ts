/**
 * Test support: normalized rows as NormalizedEvent objects and as the database returns them, brought to
 * one comparable shape (snake_case columns, instants as UTC with microseconds).
 */
import type { NormalizedEvent } from '@siem/core';
import type pg from 'pg';

const ISO = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** An ISO 8601 instant as UTC with exactly six fraction digits (PostgreSQL keeps microseconds). */
export function utcMicros(iso: string): string {
  const m = ISO.exec(iso);
  if (m === null) throw new Error(`not an ISO 8601 instant: ${iso}`);
  let zone = m[4]!;
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${iso}`);
  const fraction = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

export type Row = Record<string, unknown>;

/** A NormalizedEvent as the row the events table should hold. */
export function rowOf(ev: NormalizedEvent): Row {
  return {
    time: utcMicros(ev.time),
    received_at: utcMicros(ev.receivedAt),
    tenant_id: ev.tenantId,
    event_id: ev.eventId,
    source_type: ev.sourceType,
    host_name: ev.hostName,
    host_ip: ev.hostIp,
    app_name: ev.appName,
    severity: ev.severity,
    category: ev.category,
    action: ev.action,
    outcome: ev.outcome,
    user_name: ev.userName,
    src_ip: ev.srcIp,
    src_port: ev.srcPort,
    dst_ip: ev.dstIp,
    dst_port: ev.dstPort,
    process_name: ev.processName,
    process_pid: ev.processPid,
    event_code: ev.eventCode,
    message: ev.message,
    attrs: ev.attrs,
    raw: ev.raw,
    class_uid: ev.classUid,
  };
}

/** Every row of `<schema>.events` (row_to_json, so times keep their microseconds), by event id. */
export async function storedRows(client: pg.Client, schema: string): Promise<Map<string, Row>> {
  await client.query(`set timezone = 'UTC'`);
  const r = await client.query<{ j: Row }>(`select row_to_json(e) as j from "${schema}".events e`);
  const out = new Map<string, Row>();
  for (const { j } of r.rows) {
    out.set(String(j.event_id), {
      ...j,
      time: utcMicros(String(j.time)),
      received_at: utcMicros(String(j.received_at)),
    });
  }
  return out;
}
