import { counter, gauge, histogram } from '@siem/observability';

/**
 * The storage library's metrics (one registry for the process; get-or-create). The event writer's
 * rows received, committed and failed statements are the component vocabulary (`siem_component_*`,
 * component_kind sink, component_type timescaledb, component_id the writer's name: `storage`); what
 * only storage has is here.
 */
export const storageMetrics = {
  rowsDuplicate: counter({
    name: 'siem_storage_rows_duplicate_total',
    help: 'Rows skipped because they were already stored (replayed batches).',
  }),
  rowsCoerced: counter({
    name: 'siem_storage_rows_coerced_total',
    help: 'Field values the database would refuse, stored coerced (original kept in attrs._storage), by reason.',
    labelNames: ['reason'] as const,
  }),
  writeRetries: counter({
    name: 'siem_storage_write_retries_total',
    help: 'Statements the writer repeated itself, by reason (duplicate → staged insert, deadlock, missing partition).',
    labelNames: ['reason'] as const,
  }),
  writeDuration: histogram({
    name: 'siem_storage_write_duration_seconds',
    help: 'Time to store one statement of rows, by method.',
    labelNames: ['method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  breakerState: gauge({
    name: 'siem_storage_breaker_state',
    help: 'Database circuit breaker: 0 closed, 1 half-open, 2 open.',
  }),
  tierRuns: counter({
    name: 'siem_storage_tier_runs_total',
    help: 'Tier job runs, by result (ok, failed, skipped_locked).',
    labelNames: ['result'] as const,
  }),
  tierActions: counter({
    name: 'siem_storage_tier_chunks_total',
    help: 'Chunks/partitions changed by the tier job, by action (compressed, indexes_dropped, indexes_built, moved, exported, dropped, created).',
    labelNames: ['action'] as const,
  }),
  tierErrors: counter({
    name: 'siem_storage_tier_errors_total',
    help: 'Tier job steps that failed, by step.',
    labelNames: ['step'] as const,
  }),
  tierDuration: histogram({
    name: 'siem_storage_tier_run_duration_seconds',
    help: 'Duration of a tier job run.',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
  }),
  archiveBytes: counter({
    name: 'siem_storage_archive_bytes_total',
    help: 'Compressed bytes written to archive files.',
  }),
  archiveRows: counter({
    name: 'siem_storage_archive_rows_total',
    help: 'Rows written to archive files.',
  }),
};
