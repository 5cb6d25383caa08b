import { type Counter, counter, type Gauge, gauge } from '@siem/observability';

/**
 * The metrics of one listener, labelled by its adapter name. Hot-path counts are kept as plain numbers
 * per batch and added to prom-client once per batch (`flush`), so a busy listener pays for label
 * lookups per batch, not per event. The same numbers feed `status().counters`.
 *
 * Every listener family (syslog, Windows events) counts the same things under its own names
 * (`<prefix>_received_events_total`, …): `ListenerMetrics` is that mechanism, the family only gives the
 * prefix and the help texts that differ; a family's own metrics live in its subclass.
 */
const L = ['listener'] as const;
const LR = ['listener', 'reason'] as const;

/** What a listener family says about the metrics every family has, where its wording is its own. */
export interface ListenerMetricFamily {
  /** `siem_syslog`, `siem_windows`: the metric names are `<prefix>_received_events_total`, … */
  prefix: string;
  help: {
    received: string;
    bytes: string;
    parseErrors: string;
    discarded: string;
    active: string;
    paused: string;
  };
}

function familyMetrics({ prefix, help }: ListenerMetricFamily) {
  return {
    received: counter({ name: `${prefix}_received_events_total`, help: help.received, labelNames: L }),
    bytes: counter({ name: `${prefix}_received_bytes_total`, help: help.bytes, labelNames: L }),
    parseErrors: counter({ name: `${prefix}_parse_errors_total`, help: help.parseErrors, labelNames: LR }),
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
    discarded: counter({
      name: `${prefix}_discarded_events_total`,
      help: help.discarded,
      labelNames: LR,
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
  readonly listener: string;
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
    received: Labelled;
    bytes: Labelled;
    truncated: Labelled;
    invalidUtf8: Labelled;
    paused: Labelled;
    accepted: Labelled;
    active: ReturnType<Gauge<'listener'>['labels']>;
  };
  readonly #parseErrors: Counter<'listener' | 'reason'>;
  readonly #discarded: Counter<'listener' | 'reason'>;
  readonly #closed: Counter<'listener' | 'reason'>;
  readonly #tlsReloads: Counter<'listener' | 'reason'>;

  constructor(listener: string, family: ListenerMetricFamily) {
    this.listener = listener;
    const m = familyMetrics(family);
    this.#c = {
      received: m.received.labels(listener),
      bytes: m.bytes.labels(listener),
      truncated: m.truncated.labels(listener),
      invalidUtf8: m.invalidUtf8.labels(listener),
      paused: m.paused.labels(listener),
      accepted: m.accepted.labels(listener),
      active: m.active.labels(listener),
    };
    this.#parseErrors = m.parseErrors;
    this.#discarded = m.discarded;
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

  parseError(reason: string): void {
    this.#pendingParseErrors.set(reason, (this.#pendingParseErrors.get(reason) ?? 0) + 1);
  }

  /** Adds the batch's numbers to the totals and to prom-client. */
  flush(): void {
    const t = this.totals;
    if (this.#received > 0) {
      t.received_events += this.#received;
      t.received_bytes += this.#bytes;
      this.#c.received.inc(this.#received);
      this.#c.bytes.inc(this.#bytes);
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
        this.#parseErrors.inc({ listener: this.listener, reason }, n);
      }
      this.#pendingParseErrors.clear();
    }
  }

  // --- rare events: counted at once
  discard(reason: string, n = 1): void {
    if (n <= 0) return;
    this.totals.discarded += n;
    this.discardedBy.set(reason, (this.discardedBy.get(reason) ?? 0) + n);
    this.#discarded.inc({ listener: this.listener, reason }, n);
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

const syslogFamily: ListenerMetricFamily = {
  prefix: 'siem_syslog',
  help: {
    received: 'Events received (frames, datagrams).',
    bytes: 'Payload bytes received.',
    parseErrors: 'Events whose header could not be parsed (kept whole, marked), by reason.',
    discarded: 'Events not passed on, by reason (rate_limited, empty, or the buffer reject reason).',
    active: 'Open TCP/TLS connections.',
    paused: 'Time the listener held its sockets paused because the buffer asked it to.',
  },
};

/** The syslog listeners' metrics (`siem_syslog_*`), with the kernel's UDP numbers. */
export class SyslogListenerMetrics extends ListenerMetrics {
  #kernelDropsTotal = 0;
  readonly #kernelDrops: Labelled;
  readonly #rxQueue: ReturnType<Gauge<'listener'>['labels']>;

  constructor(listener: string) {
    super(listener, syslogFamily);
    this.#kernelDrops = counter({
      name: 'siem_syslog_kernel_drops_total',
      help: 'Datagrams the kernel dropped on the UDP socket (from /proc/net/udp, udp6).',
      labelNames: L,
    }).labels(listener);
    this.#rxQueue = gauge({
      name: 'siem_syslog_udp_receive_queue_bytes',
      help: 'Bytes waiting in the UDP socket receive queue (from /proc/net/udp, udp6).',
      labelNames: L,
    }).labels(listener);
  }

  kernelDrops(n: number): void {
    if (n <= 0) return;
    this.#kernelDropsTotal += n;
    this.#kernelDrops.inc(n);
  }

  receiveQueue(bytes: number): void {
    this.#rxQueue.set(bytes);
  }

  override snapshot(): Record<string, number> {
    return { ...super.snapshot(), kernel_drops: this.#kernelDropsTotal };
  }
}
