import { ComponentMetrics, type Counter, counter, type Gauge, gauge } from '@siem/observability';

/**
 * The metrics of one listener. What every component reports — events and bytes received, events
 * discarded (by reason, policy or failure), parse errors — goes to the component vocabulary
 * (`siem_component_*`, labelled by the adapter's id and type); what only listeners have (connections,
 * pauses, TLS reloads, truncated and invalid UTF-8 events) stays under the family's own prefix,
 * labelled `listener` with the same id.
 *
 * Hot-path counts are kept as plain numbers per batch and added to prom-client once per batch
 * (`flush`), so a busy listener pays for label lookups per batch, not per event. The same numbers feed
 * `status().counters`.
 */
const L = ['listener'] as const;
const LR = ['listener', 'reason'] as const;

/** Which listener: its adapter id and type (the component labels of its vocabulary series). */
export interface ListenerRef {
  id: string;
  type: string;
}

/** What a listener family says about the metrics only listeners have, where its wording is its own. */
export interface ListenerMetricFamily {
  /** `siem_syslog`, `siem_windows`: the family metrics are `<prefix>_active_connections`, … */
  prefix: string;
  help: {
    active: string;
    paused: string;
  };
}

function familyMetrics({ prefix, help }: ListenerMetricFamily) {
  return {
    truncated: counter({
      name: `${prefix}_truncated_events_total`,
      help: 'Events cut to max_message_bytes (kept, marked).',
      labelNames: L,
    }),
    invalidUtf8: counter({
      name: `${prefix}_invalid_utf8_events_total`,
      help: 'Events that are not well-formed UTF-8 (kept byte for byte, marked).',
      labelNames: L,
    }),
    active: gauge({ name: `${prefix}_active_connections`, help: help.active, labelNames: L }),
    accepted: counter({ name: `${prefix}_connections_total`, help: 'Connections accepted.', labelNames: L }),
    closed: counter({
      name: `${prefix}_connections_closed_total`,
      help: 'Connections closed or refused, by reason.',
      labelNames: LR,
    }),
    paused: counter({ name: `${prefix}_paused_seconds_total`, help: help.paused, labelNames: L }),
    tlsReloads: counter({
      name: `${prefix}_tls_reloads_total`,
      help: 'Certificate reloads after the files changed, by result (ok, failed).',
      labelNames: LR,
    }),
  };
}

/**
 * Declares a family's metrics (get-or-create). A family calls it when its module loads, so its series
 * are on /metrics and in docs/metrics.md before any listener exists.
 */
export function declareListenerFamily(family: ListenerMetricFamily): void {
  familyMetrics(family);
}

/** The counts every listener keeps (`status().counters`, besides the per-reason ones). */
export interface ListenerCounters {
  received_events: number;
  received_bytes: number;
  parse_errors: number;
  truncated: number;
  invalid_utf8: number;
  discarded: number;
  active_connections: number;
  connections_accepted: number;
  connections_closed: number;
  paused_ms: number;
  tls_reloads: number;
}

type Labelled = ReturnType<Counter<'listener'>['labels']>;

export class ListenerMetrics {
  /** The adapter id: the `listener` label of the family metrics. */
  readonly listener: string;
  /** The vocabulary series of this listener (component kind `source`). */
  readonly component: ComponentMetrics;
  readonly totals: ListenerCounters = {
    received_events: 0,
    received_bytes: 0,
    parse_errors: 0,
    truncated: 0,
    invalid_utf8: 0,
    discarded: 0,
    active_connections: 0,
    connections_accepted: 0,
    connections_closed: 0,
    paused_ms: 0,
    tls_reloads: 0,
  };
  /** Per-reason totals (status and tests); reasons are bounded sets. */
  readonly discardedBy = new Map<string, number>();
  readonly parseErrorsBy = new Map<string, number>();
  readonly closedBy = new Map<string, number>();

  // pending per-batch numbers
  #received = 0;
  #bytes = 0;
  #truncated = 0;
  #invalidUtf8 = 0;
  readonly #pendingParseErrors = new Map<string, number>();

  readonly #c: {
    truncated: Labelled;
    invalidUtf8: Labelled;
    paused: Labelled;
    accepted: Labelled;
    active: ReturnType<Gauge<'listener'>['labels']>;
  };
  readonly #closed: Counter<'listener' | 'reason'>;
  readonly #tlsReloads: Counter<'listener' | 'reason'>;

  constructor(ref: ListenerRef, family: ListenerMetricFamily) {
    this.listener = ref.id;
    this.component = new ComponentMetrics({ id: ref.id, kind: 'source', type: ref.type });
    const m = familyMetrics(family);
    this.#c = {
      truncated: m.truncated.labels(ref.id),
      invalidUtf8: m.invalidUtf8.labels(ref.id),
      paused: m.paused.labels(ref.id),
      accepted: m.accepted.labels(ref.id),
      active: m.active.labels(ref.id),
    };
    this.#closed = m.closed;
    this.#tlsReloads = m.tlsReloads;
    this.#c.active.set(0);
  }

  // --- hot path: plain additions, flushed per batch
  event(bytes: number): void {
    this.#received++;
    this.#bytes += bytes;
  }

  truncatedEvent(): void {
    this.#truncated++;
  }

  invalidUtf8Event(): void {
    this.#invalidUtf8++;
  }

  /** An event kept with a parse-error mark: an error of the processing stage, the reason its code. */
  parseError(reason: string): void {
    this.#pendingParseErrors.set(reason, (this.#pendingParseErrors.get(reason) ?? 0) + 1);
  }

  /** Adds the batch's numbers to the totals and to prom-client. */
  flush(): void {
    const t = this.totals;
    if (this.#received > 0) {
      t.received_events += this.#received;
      t.received_bytes += this.#bytes;
      this.component.received(this.#received, this.#bytes);
      this.#received = 0;
      this.#bytes = 0;
    }
    if (this.#truncated > 0) {
      t.truncated += this.#truncated;
      this.#c.truncated.inc(this.#truncated);
      this.#truncated = 0;
    }
    if (this.#invalidUtf8 > 0) {
      t.invalid_utf8 += this.#invalidUtf8;
      this.#c.invalidUtf8.inc(this.#invalidUtf8);
      this.#invalidUtf8 = 0;
    }
    if (this.#pendingParseErrors.size > 0) {
      for (const [reason, n] of this.#pendingParseErrors) {
        t.parse_errors += n;
        this.parseErrorsBy.set(reason, (this.parseErrorsBy.get(reason) ?? 0) + n);
        this.component.error(reason, 'processing', n);
      }
      this.#pendingParseErrors.clear();
    }
  }

  // --- rare events: counted at once
  /**
   * Events not passed on. `intentional`: a policy said so (a rate limit, an empty frame that carries
   * nothing); false: something failed (the buffer rejected them).
   */
  discard(reason: string, intentional: boolean, n = 1): void {
    if (n <= 0) return;
    this.totals.discarded += n;
    this.discardedBy.set(reason, (this.discardedBy.get(reason) ?? 0) + n);
    this.component.discarded(reason, intentional, n);
  }

  connectionOpened(): void {
    this.totals.connections_accepted++;
    this.totals.active_connections++;
    this.#c.accepted.inc();
    this.#c.active.set(this.totals.active_connections);
  }

  connectionGone(): void {
    this.totals.active_connections--;
    this.#c.active.set(this.totals.active_connections);
  }

  /** A connection closed (or refused) for a reason: normal, idle_timeout, bad_octet_count, … */
  connectionClosed(reason: string): void {
    this.totals.connections_closed++;
    this.closedBy.set(reason, (this.closedBy.get(reason) ?? 0) + 1);
    this.#closed.inc({ listener: this.listener, reason });
  }

  paused(ms: number): void {
    this.totals.paused_ms += ms;
    this.#c.paused.inc(ms / 1000);
  }

  tlsReload(ok: boolean): void {
    if (ok) this.totals.tls_reloads++;
    this.#tlsReloads.inc({ listener: this.listener, reason: ok ? 'ok' : 'failed' });
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = { ...this.totals };
    for (const [r, n] of this.discardedBy) out[`discarded_${r}`] = n;
    for (const [r, n] of this.parseErrorsBy) out[`parse_errors_${r}`] = n;
    for (const [r, n] of this.closedBy) out[`closed_${r}`] = n;
    return out;
  }
}
