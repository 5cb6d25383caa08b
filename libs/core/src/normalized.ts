import type { SourceType } from './events.js';

/** Categories every normalizer maps onto (ECS `event.category`, simplified). */
export const eventCategories = [
  'authentication',
  'network',
  'process',
  'file',
  'configuration',
  'account_management',
  'audit',
  'other',
] as const;
export type EventCategory = (typeof eventCategories)[number];

export const eventOutcomes = ['success', 'failure', 'unknown'] as const;
export type EventOutcome = (typeof eventOutcomes)[number];

/** Syslog severities (RFC 5424 §6.2.1): every platform's severity is mapped onto this scale. */
export const severityNames = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'info',
  'debug',
] as const;
export type SeverityName = (typeof severityNames)[number];

/**
 * The normalized event: one row of the `events` hypertable. Field names are the camelCase form of the
 * ECS-aligned columns (`host_name` ↔ `hostName`). Timestamps are ISO 8601 strings with an offset.
 */
export interface NormalizedEvent {
  time: string;
  receivedAt: string;
  tenantId: string;
  eventId: string;
  sourceType: SourceType;
  hostName: string | null;
  hostIp: string | null;
  appName: string | null;
  /** 0 (emergency) … 7 (debug). */
  severity: number;
  category: EventCategory;
  action: string | null;
  outcome: EventOutcome;
  userName: string | null;
  srcIp: string | null;
  srcPort: number | null;
  dstIp: string | null;
  dstPort: number | null;
  processName: string | null;
  processPid: number | null;
  eventCode: string | null;
  message: string | null;
  attrs: Record<string, unknown>;
  raw: string;
  /** OCSF class where the mapping is clear (3002 Authentication, 4001 Network Activity, …). */
  classUid: number | null;
}
