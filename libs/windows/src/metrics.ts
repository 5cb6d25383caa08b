import { type Counter, counter, type Gauge, gauge } from '@siem/observability';

/**
 * The metrics of the windows_events listener, labelled by its adapter name — the same shape as the
 * syslog listeners' (`siem_syslog_*`), under `siem_windows_*`. Hot-path counts are plain numbers added
 * to prom-client once per batch (`flush`); the same numbers feed `status().counters`.
 */
const L = ['listener'] as const;
const LR = ['listener', 'reason'] as const;

const m = {
  received: () =>
    counter({
      name: 'siem_windows_received_events_total',
      help: 'Events received (JSON lines, Lumberjack JSON frames).',
      labelNames: L,
    }),
  bytes: () =>
    counter({ name: 'siem_windows_received_bytes_total', help: 'Event bytes received.', labelNames: L }),
  parseErrors: () =>
    counter({
      name: 'siem_windows_parse_errors_total',
      help: 'Events that are not a JSON object (kept whole, marked parse_error), by reason.',
      labelNames: LR,
    }),
  truncated: () =>
    counter({
      name: 'siem_windows_truncated_events_total',
      help: 'Events cut to max_message_bytes (kept, marked).',
      labelNames: L,
    }),
  invalidUtf8: () =>
    counter({
      name: 'siem_windows_invalid_utf8_events_total',
      help: 'Events that are not well-formed UTF-8 (kept byte for byte, marked).',
      labelNames: L,
    }),
  discarded: () =>
    counter({
      name: 'siem_windows_discarded_events_total',
      help: 'Events not passed on, by reason (empty, or the buffer reject reason).',
      labelNames: LR,
    }),
  active: () => gauge({ name: 'siem_windows_active_connections', help: 'Open connections.', labelNames: L }),
  accepted: () =>
    counter({ name: 'siem_windows_connections_total', help: 'Connections accepted.', labelNames: L }),
  protocol: () =>
    counter({
      name: 'siem_windows_protocol_connections_total',
      help: 'Connections by the protocol they turned out to speak (ndjson, lumberjack).',
      labelNames: ['listener', 'protocol'] as const,
    }),
  closed: () =>
    counter({
      name: 'siem_windows_connections_closed_total',
      help: 'Connections closed or refused, by reason.',
      labelNames: LR,
    }),
  paused: () =>
    counter({
      name: 'siem_windows_paused_seconds_total',
      help: 'Time the listener held its sockets paused (and Lumberjack ACKs back) because the buffer asked it to.',
      labelNames: L,
    }),
  acks: () =>
    counter({
      name: 'siem_windows_lumberjack_acks_total',
      help: 'Lumberjack ACK frames sent, by kind (ack: events are in the buffer; keepalive: sequence 0 while paused).',
      labelNames: ['listener', 'kind'] as const,
    }),
  tlsReloads: () =>
    counter({
      name: 'siem_windows_tls_reloads_total',
      help: 'Certificate reloads after the files changed, by result (ok, failed).',
      labelNames: LR,
    }),
};

type Labelled = ReturnType<Counter<'listener'>['labels']>;

export class WindowsMetrics {
  readonly listener: string;
  readonly totals = {
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
    lumberjack_acks: 0,
    lumberjack_keepalive_acks: 0,
    tls_reloads: 0,
  };
  /** Per-reason totals (status and tests); reasons are bounded sets. */
  readonly discardedBy = new Map<string, number>();
  readonly parseErrorsBy = new Map<string, number>();
  readonly closedBy = new Map<string, number>();
  readonly protocols = new Map<string, number>();

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
  readonly #protocol: Counter<'listener' | 'protocol'>;
  readonly #acks: Counter<'listener' | 'kind'>;

  constructor(listener: string) {
    this.listener = listener;
    this.#c = {
      received: m.received().labels(listener),
      bytes: m.bytes().labels(listener),
      truncated: m.truncated().labels(listener),
      invalidUtf8: m.invalidUtf8().labels(listener),
      paused: m.paused().labels(listener),
      accepted: m.accepted().labels(listener),
      active: m.active().labels(listener),
    };
    this.#parseErrors = m.parseErrors();
    this.#discarded = m.discarded();
    this.#closed = m.closed();
    this.#tlsReloads = m.tlsReloads();
    this.#protocol = m.protocol();
    this.#acks = m.acks();
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

  protocolDetected(protocol: 'ndjson' | 'lumberjack'): void {
    this.protocols.set(protocol, (this.protocols.get(protocol) ?? 0) + 1);
    this.#protocol.inc({ listener: this.listener, protocol });
  }

  connectionGone(): void {
    this.totals.active_connections--;
    this.#c.active.set(this.totals.active_connections);
  }

  connectionClosed(reason: string): void {
    this.totals.connections_closed++;
    this.closedBy.set(reason, (this.closedBy.get(reason) ?? 0) + 1);
    this.#closed.inc({ listener: this.listener, reason });
  }

  ack(keepalive: boolean): void {
    if (keepalive) this.totals.lumberjack_keepalive_acks++;
    else this.totals.lumberjack_acks++;
    this.#acks.inc({ listener: this.listener, kind: keepalive ? 'keepalive' : 'ack' });
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
    for (const [p, n] of this.protocols) out[`connections_${p}`] = n;
    return out;
  }
}
