import {
  declareListenerFamily,
  type ListenerMetricFamily,
  ListenerMetrics,
  type ListenerRef,
} from '@siem/net';
import { type Counter, counter } from '@siem/observability';

/**
 * The metrics of the windows_events listener: every listener's (`ListenerMetrics`: the component
 * vocabulary, and the family's own under `siem_windows_*`), plus the protocol each connection speaks
 * and the Lumberjack ACKs. The same numbers feed `status().counters`.
 */
const windowsFamily: ListenerMetricFamily = {
  prefix: 'siem_windows',
  help: {
    active: 'Open connections.',
    paused:
      'Time the listener held its sockets paused (and Lumberjack ACKs back) because the buffer asked it to.',
  },
};

// Declared when the module loads (docs/metrics.md lists them before a listener exists).
declareListenerFamily(windowsFamily);
const protocolConnections = counter({
  name: 'siem_windows_protocol_connections_total',
  help: 'Connections by the protocol they turned out to speak (ndjson, lumberjack).',
  labelNames: ['listener', 'protocol'] as const,
});
const lumberjackAcks = counter({
  name: 'siem_windows_lumberjack_acks_total',
  help: 'Lumberjack ACK frames sent, by kind (ack: events are in the buffer; keepalive: sequence 0 while paused).',
  labelNames: ['listener', 'kind'] as const,
});

export class WindowsMetrics extends ListenerMetrics {
  readonly protocols = new Map<string, number>();
  #acks = 0;
  #keepaliveAcks = 0;
  readonly #protocol: Counter<'listener' | 'protocol'>;
  readonly #acksCounter: Counter<'listener' | 'kind'>;

  constructor(ref: ListenerRef) {
    super(ref, windowsFamily);
    this.#protocol = protocolConnections;
    this.#acksCounter = lumberjackAcks;
  }

  protocolDetected(protocol: 'ndjson' | 'lumberjack'): void {
    this.protocols.set(protocol, (this.protocols.get(protocol) ?? 0) + 1);
    this.#protocol.inc({ listener: this.listener, protocol });
  }

  ack(keepalive: boolean): void {
    if (keepalive) this.#keepaliveAcks++;
    else this.#acks++;
    this.#acksCounter.inc({ listener: this.listener, kind: keepalive ? 'keepalive' : 'ack' });
  }

  override snapshot(): Record<string, number> {
    const out = super.snapshot();
    out.lumberjack_acks = this.#acks;
    out.lumberjack_keepalive_acks = this.#keepaliveAcks;
    for (const [p, n] of this.protocols) out[`connections_${p}`] = n;
    return out;
  }
}
