import { beforeComponentCollect, ComponentMetrics, counter, gauge } from '@siem/observability';

/**
 * What one buffer counts. The buffer updates these plain numbers on its hot path; the Prometheus
 * metrics read them when scraped (collect callbacks), so offering a batch costs no metric call.
 *
 * The counts every component has go to the shared vocabulary (`siem_component_*`, component_kind
 * `buffer`, type `memory_disk`, id = the buffer's name): received = accepted (memory or disk), sent =
 * acknowledged by the sink, discarded = events it had taken and lost (a corrupt frame, …: never
 * intentional), errors = failed disk operations (`disk_<op>`, stage processing). An offer the buffer
 * rejects (`full`, `closed`) was never taken: the source that offered it counts those events as its
 * own discards, so they are not counted twice here. The rest are the buffer's own `siem_buffer_*`.
 */
export class BufferCounters {
  readonly name: string;
  // counters
  acceptedEvents = { memory: 0, disk: 0 };
  acceptedBytes = { memory: 0, disk: 0 };
  dropped: Record<string, number> = {};
  pauses = 0;
  spilledEvents = { overflow: 0, shutdown: 0, durable: 0 };
  spillOriginalBytes = 0;
  spillCompressedBytes = 0;
  replayedEvents = 0;
  replayedBytes = 0;
  ackedEvents = 0;
  nackedEvents = 0;
  redelivered = { nack: 0, crash: 0 };
  corruptFrames: Record<string, number> = {};
  corruptBytes: Record<string, number> = {};
  lostEvents: Record<string, number> = {};
  diskErrors: Record<string, number> = {};
  segmentsDeleted = 0;
  lateAcks = 0;
  // gauges
  memoryEvents = 0;
  memoryBytes = 0;
  memoryFill = 0;
  diskBytes = 0;
  diskSegments = 0;
  pendingWriteBytes = 0;
  outstandingLeases = 0;
  spilling = false;
  paused = false;
  oldestSegmentMs: number | null = null;
  /** Recomputes the gauges above from the live buffer (null once it is closed). */
  refresh: (() => void) | null = null;

  constructor(name: string) {
    this.name = name;
  }
}

function bump(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

export { bump };

const live = new Set<BufferCounters>();
/** Values already pushed into each Prometheus counter, per buffer and label set. */
const pushed = new WeakMap<BufferCounters, Map<string, number>>();

function syncCounter(
  c: { inc(labels: Record<string, string>, value: number): void },
  metric: string,
  values: (b: BufferCounters) => Array<[Record<string, string>, number]>,
): void {
  for (const b of live) {
    let seen = pushed.get(b);
    if (seen === undefined) {
      seen = new Map();
      pushed.set(b, seen);
    }
    for (const [labels, value] of values(b)) {
      const key = `${metric}|${JSON.stringify(labels)}`;
      const delta = value - (seen.get(key) ?? 0);
      if (delta > 0) {
        c.inc({ buffer: b.name, ...labels }, delta);
        seen.set(key, value);
      }
    }
  }
}

function counterOf(
  name: string,
  help: string,
  labels: string[],
  values: (b: BufferCounters) => Array<[Record<string, string>, number]>,
): void {
  counter({
    name,
    help,
    labelNames: ['buffer', ...labels],
    collect() {
      syncCounter(this, name, values);
    },
  });
}

function gaugeOf(name: string, help: string, value: (b: BufferCounters) => number): void {
  gauge({
    name,
    help,
    labelNames: ['buffer'],
    collect() {
      for (const b of live) {
        b.refresh?.();
        this.set({ buffer: b.name }, value(b));
      }
    },
  });
}

const byKey = (label: string, map: Record<string, number>): Array<[Record<string, string>, number]> =>
  Object.entries(map).map(([k, v]) => [{ [label]: k }, v]);

/** Each buffer's vocabulary series and the totals already pushed into them. */
const components = new WeakMap<BufferCounters, { metrics: ComponentMetrics; pushed: Map<string, number> }>();

function syncComponents(): void {
  for (const b of live) {
    let c = components.get(b);
    if (c === undefined) {
      c = {
        metrics: new ComponentMetrics({ id: b.name, kind: 'buffer', type: 'memory_disk' }),
        pushed: new Map(),
      };
      components.set(b, c);
    }
    const { metrics, pushed } = c;
    const delta = (key: string, total: number): number => {
      const d = total - (pushed.get(key) ?? 0);
      if (d > 0) pushed.set(key, total);
      return d;
    };
    metrics.received(
      delta('received', b.acceptedEvents.memory + b.acceptedEvents.disk),
      delta('received_bytes', b.acceptedBytes.memory + b.acceptedBytes.disk),
    );
    metrics.sent(delta('sent', b.ackedEvents));
    for (const [reason, n] of Object.entries(b.lostEvents)) {
      metrics.discarded(reason, false, delta(`lost|${reason}`, n));
    }
    for (const [op, n] of Object.entries(b.diskErrors)) {
      metrics.error(`disk_${op}`, 'processing', delta(`disk|${op}`, n));
    }
  }
}

// Declared when the module loads, so /metrics and docs/metrics.md list them before a buffer opens.
function registerMetrics(): void {
  beforeComponentCollect(syncComponents);
  counterOf(
    'siem_buffer_pauses_total',
    'Offers answered with pause (adapters told to stop reading).',
    [],
    (b) => [[{}, b.pauses]],
  );
  counterOf(
    'siem_buffer_spilled_events_total',
    'Events written to disk, by reason (overflow: accepted straight to disk above the high watermark; durable: a source with ack: durable; shutdown).',
    ['reason'],
    (b) => byKey('reason', b.spilledEvents),
  );
  counterOf(
    'siem_buffer_spill_bytes_total',
    'Bytes spilled to disk: original (raw records) and compressed (frames on disk).',
    ['kind'],
    (b) => [
      [{ kind: 'original' }, b.spillOriginalBytes],
      [{ kind: 'compressed' }, b.spillCompressedBytes],
    ],
  );
  counterOf('siem_buffer_replayed_events_total', 'Events read back from disk.', [], (b) => [
    [{}, b.replayedEvents],
  ]);
  counterOf('siem_buffer_replayed_bytes_total', 'Original bytes read back from disk.', [], (b) => [
    [{}, b.replayedBytes],
  ]);
  counterOf('siem_buffer_nacked_events_total', 'Events handed back by the sink (re-queued).', [], (b) => [
    [{}, b.nackedEvents],
  ]);
  counterOf(
    'siem_buffer_redelivered_events_total',
    'Events handed out again: after a nack, or after a crash that lost their ack (possible duplicates).',
    ['reason'],
    (b) => byKey('reason', b.redelivered),
  );
  counterOf(
    'siem_buffer_corrupt_frames_total',
    'Disk frames (compressed batches) or files found damaged, by reason; skipped or moved aside.',
    ['reason'],
    (b) => byKey('reason', b.corruptFrames),
  );
  counterOf('siem_buffer_corrupt_bytes_total', 'Bytes of damaged disk data, by reason.', ['reason'], (b) =>
    byKey('reason', b.corruptBytes),
  );
  counterOf(
    'siem_buffer_segments_deleted_total',
    'Segment files deleted after every event in them was acknowledged.',
    [],
    (b) => [[{}, b.segmentsDeleted]],
  );
  counterOf(
    'siem_buffer_late_acks_total',
    'Acks or nacks of leases the buffer no longer held (after shutdown took them back).',
    [],
    (b) => [[{}, b.lateAcks]],
  );
  gaugeOf(
    'siem_buffer_memory_events',
    'Events held in memory (ring, in delivery, re-queued).',
    (b) => b.memoryEvents,
  );
  gaugeOf('siem_buffer_memory_bytes', 'Bytes (key + value) held in memory.', (b) => b.memoryBytes);
  gaugeOf(
    'siem_buffer_memory_fill_ratio',
    'Memory fill: the larger of events and bytes over their caps.',
    (b) => b.memoryFill,
  );
  gaugeOf(
    'siem_buffer_disk_bytes',
    'Bytes in the spill directory (including writes queued).',
    (b) => b.diskBytes,
  );
  gaugeOf('siem_buffer_disk_segments', 'Segment files in the spill directory.', (b) => b.diskSegments);
  gaugeOf(
    'siem_buffer_disk_pending_write_bytes',
    'Compressed bytes waiting for the disk writer.',
    (b) => b.pendingWriteBytes,
  );
  gaugeOf(
    'siem_buffer_outstanding_leases',
    'Leases handed out and not yet acked or nacked.',
    (b) => b.outstandingLeases,
  );
  gaugeOf('siem_buffer_spilling', '1 while new batches go to disk.', (b) => (b.spilling ? 1 : 0));
  gaugeOf('siem_buffer_paused', '1 while the adapters are told to pause.', (b) => (b.paused ? 1 : 0));
  gaugeOf(
    'siem_buffer_oldest_segment_age_seconds',
    'Age of the oldest segment on disk (0 when none).',
    (b) => (b.oldestSegmentMs === null ? 0 : Math.max(0, (Date.now() - b.oldestSegmentMs) / 1000)),
  );
}

registerMetrics();

/**
 * Makes a buffer's counters visible to the metrics registry. A buffer stays listed after its close (its
 * last counts still get scraped) until another buffer of the same name replaces it, as a restart in the
 * same process does; Prometheus counters only ever grow, since each buffer pushes its own increments.
 */
export function trackCounters(c: BufferCounters): void {
  for (const other of live) if (other.name === c.name && other !== c) live.delete(other);
  live.add(c);
}
