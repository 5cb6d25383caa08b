import { ComponentMetrics, counter, type ErrorStage } from '@siem/observability';
import type { CloudRefusal } from './errors.js';
import type { CloudSourceType } from './options.js';

/**
 * The metrics of the cloud_http intake. Events, bytes, discards and errors are the component
 * vocabulary of every source (`siem_component_…{component_id=<adapter>, component_kind="source",
 * component_type="cloud_http"}`); beside them the cloud-only series, labelled by adapter and source
 * type: requests answered 202 or refused (by reason, which names the status), and rows. Authentication
 * and scope failures are counted by the API server itself (siem_api_requests_total{route,status}).
 * Declared when the module loads, so /metrics and docs/metrics.md list them before any request.
 */
const acceptedRequests = counter({
  name: 'siem_cloud_accepted_requests_total',
  help: 'Batches answered 202 (their records are in the buffer).',
  labelNames: ['adapter', 'source_type'] as const,
});
const receivedRows = counter({
  name: 'siem_cloud_received_rows_total',
  help: 'Rows the records taken become once normalized (nested batches and Pub/Sub messages expanded).',
  labelNames: ['adapter', 'source_type'] as const,
});
const refusedRequests = counter({
  name: 'siem_cloud_refused_requests_total',
  help: 'Requests answered 4xx/503 without taking anything, by reason (the sender keeps and can resend them).',
  labelNames: ['adapter', 'source_type', 'reason'] as const,
});

/**
 * How a refusal counts in the vocabulary. A request the sender got wrong (4xx) is an error, at the
 * stage that found it: `receiving` for what the headers or the wire size say, `processing` for what
 * decoding and scanning the body find. A 503 is a discard of the records it held when the body was
 * read far enough to count them: intentional when it is the intake's backpressure (the sender is told
 * to resend), not when the buffer failed (closed, or rejected for another reason), which is also an
 * error at the `sending` stage. 503s answered before the body is read hold no known events.
 */
const vocabularyOf: Record<
  CloudRefusal,
  { stage: ErrorStage } | { intentional: boolean; stage?: ErrorStage }
> = {
  unknown_source_type: { stage: 'receiving' },
  unsupported_media_type: { stage: 'receiving' },
  unsupported_encoding: { stage: 'receiving' },
  body_too_large: { stage: 'receiving' },
  empty_body: { stage: 'processing' },
  decoded_too_large: { stage: 'processing' },
  bad_gzip: { stage: 'processing' },
  invalid_utf8: { stage: 'processing' },
  invalid_json: { stage: 'processing' },
  not_a_batch: { stage: 'processing' },
  record_not_object: { stage: 'processing' },
  record_too_large: { stage: 'processing' },
  too_many_records: { stage: 'processing' },
  too_deep: { stage: 'processing' },
  busy: { intentional: true },
  stopped: { intentional: true },
  paused: { intentional: true },
  buffer_full: { intentional: true },
  buffer_closed: { intentional: false, stage: 'sending' },
  buffer_rejected: { intentional: false, stage: 'sending' },
};

export class CloudMetrics {
  readonly adapter: string;
  readonly component: ComponentMetrics;
  /** The adapter's status counters (the control API's `counters`). */
  readonly totals = {
    accepted_requests: 0,
    received_events: 0,
    received_rows: 0,
    received_bytes: 0,
    refused_requests: 0,
    discarded_events: 0,
    paused_ms: 0,
  };
  readonly refusedBy = new Map<string, number>();

  constructor(adapter: string) {
    this.adapter = adapter;
    this.component = new ComponentMetrics({ id: adapter, kind: 'source', type: 'cloud_http' });
  }

  /** A batch answered 202: `events` raw events (one per record) from `bytes` of body as sent. */
  accepted(sourceType: CloudSourceType, events: number, rows: number, bytes: number): void {
    const labels = { adapter: this.adapter, source_type: sourceType };
    this.totals.accepted_requests++;
    this.totals.received_events += events;
    this.totals.received_rows += rows;
    this.totals.received_bytes += bytes;
    this.component.received(events, bytes);
    acceptedRequests.inc(labels);
    receivedRows.inc(labels, rows);
  }

  /** `sourceType` is `unknown` when the path named none of ours; `events` when the body was counted. */
  refused(sourceType: CloudSourceType | 'unknown', reason: CloudRefusal, events = 0): void {
    this.totals.refused_requests++;
    this.refusedBy.set(reason, (this.refusedBy.get(reason) ?? 0) + 1);
    refusedRequests.inc({ adapter: this.adapter, source_type: sourceType, reason });
    const v = vocabularyOf[reason];
    if (v.stage !== undefined) this.component.error(reason, v.stage);
    if ('intentional' in v && events > 0) {
      this.totals.discarded_events += events;
      this.component.discarded(reason, v.intentional, events);
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
