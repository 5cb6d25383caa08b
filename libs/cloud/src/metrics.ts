import { type Counter, counter } from '@siem/observability';
import type { CloudRefusal } from './errors.js';
import type { CloudSourceType } from './options.js';

/**
 * The metrics of the cloud_http intake, labelled by adapter name and source type. Authentication and
 * scope failures are counted by the API server itself (siem_api_requests_total{route,status}).
 */
const m = {
  requests: () =>
    counter({
      name: 'siem_cloud_accepted_requests_total',
      help: 'Batches answered 202 (their records are in the buffer).',
      labelNames: ['adapter', 'source_type'] as const,
    }),
  records: () =>
    counter({
      name: 'siem_cloud_received_records_total',
      help: 'Records taken into the buffer (one raw event each).',
      labelNames: ['adapter', 'source_type'] as const,
    }),
  rows: () =>
    counter({
      name: 'siem_cloud_received_rows_total',
      help: 'Rows the records taken become once normalized (nested batches and Pub/Sub messages expanded).',
      labelNames: ['adapter', 'source_type'] as const,
    }),
  bytes: () =>
    counter({
      name: 'siem_cloud_received_bytes_total',
      help: 'Request body bytes of accepted batches, as sent (compressed or not).',
      labelNames: ['adapter', 'source_type'] as const,
    }),
  refused: () =>
    counter({
      name: 'siem_cloud_refused_requests_total',
      help: 'Requests answered 4xx/503 without taking anything, by reason (the sender keeps and can resend them).',
      labelNames: ['adapter', 'source_type', 'reason'] as const,
    }),
  refusedRecords: () =>
    counter({
      name: 'siem_cloud_refused_records_total',
      help: 'Records of refused requests, when the body was read far enough to count them, by reason.',
      labelNames: ['adapter', 'source_type', 'reason'] as const,
    }),
};

export class CloudMetrics {
  readonly adapter: string;
  readonly totals = {
    accepted_requests: 0,
    received_records: 0,
    received_rows: 0,
    received_bytes: 0,
    refused_requests: 0,
    refused_records: 0,
    paused_ms: 0,
  };
  readonly refusedBy = new Map<string, number>();
  readonly #requests: Counter<'adapter' | 'source_type'>;
  readonly #records: Counter<'adapter' | 'source_type'>;
  readonly #rows: Counter<'adapter' | 'source_type'>;
  readonly #bytes: Counter<'adapter' | 'source_type'>;
  readonly #refused: Counter<'adapter' | 'source_type' | 'reason'>;
  readonly #refusedRecords: Counter<'adapter' | 'source_type' | 'reason'>;

  constructor(adapter: string) {
    this.adapter = adapter;
    this.#requests = m.requests();
    this.#records = m.records();
    this.#rows = m.rows();
    this.#bytes = m.bytes();
    this.#refused = m.refused();
    this.#refusedRecords = m.refusedRecords();
  }

  accepted(sourceType: CloudSourceType, records: number, rows: number, bytes: number): void {
    const labels = { adapter: this.adapter, source_type: sourceType };
    this.totals.accepted_requests++;
    this.totals.received_records += records;
    this.totals.received_rows += rows;
    this.#rows.inc(labels, rows);
    this.totals.received_bytes += bytes;
    this.#requests.inc(labels);
    this.#records.inc(labels, records);
    this.#bytes.inc(labels, bytes);
  }

  /** `sourceType` is `unknown` when the path named none of ours. */
  refused(sourceType: CloudSourceType | 'unknown', reason: CloudRefusal, records = 0): void {
    const labels = { adapter: this.adapter, source_type: sourceType, reason };
    this.totals.refused_requests++;
    this.refusedBy.set(reason, (this.refusedBy.get(reason) ?? 0) + 1);
    this.#refused.inc(labels);
    if (records > 0) {
      this.totals.refused_records += records;
      this.#refusedRecords.inc(labels, records);
    }
  }

  paused(ms: number): void {
    this.totals.paused_ms += ms;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = { ...this.totals };
    for (const [r, n] of this.refusedBy) out[`refused_${r}`] = n;
    return out;
  }
}
