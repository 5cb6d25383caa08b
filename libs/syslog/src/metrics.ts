import {
  declareListenerFamily,
  type ListenerMetricFamily,
  ListenerMetrics,
  type ListenerRef,
} from '@siem/net';
import { type Counter, counter, type Gauge, gauge } from '@siem/observability';

const L = ['listener'] as const;

const syslogFamily: ListenerMetricFamily = {
  prefix: 'siem_syslog',
  help: {
    active: 'Open TCP/TLS connections.',
    paused: 'Time the listener held its sockets paused because the buffer asked it to.',
  },
};

// Declared when the module loads (docs/metrics.md lists them before a listener exists).
declareListenerFamily(syslogFamily);
const kernelDrops = counter({
  name: 'siem_syslog_kernel_drops_total',
  help: 'Datagrams the kernel dropped on the UDP socket (from /proc/net/udp, udp6).',
  labelNames: L,
});
const rxQueue = gauge({
  name: 'siem_syslog_udp_receive_queue_bytes',
  help: 'Bytes waiting in the UDP socket receive queue (from /proc/net/udp, udp6).',
  labelNames: L,
});

/** The syslog listeners' metrics: every listener's (family `siem_syslog_*`), with the kernel's UDP numbers. */
export class SyslogListenerMetrics extends ListenerMetrics {
  #kernelDropsTotal = 0;
  readonly #kernelDrops: ReturnType<Counter<'listener'>['labels']>;
  readonly #rxQueue: ReturnType<Gauge<'listener'>['labels']>;

  constructor(ref: ListenerRef) {
    super(ref, syslogFamily);
    this.#kernelDrops = kernelDrops.labels(ref.id);
    this.#rxQueue = rxQueue.labels(ref.id);
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
