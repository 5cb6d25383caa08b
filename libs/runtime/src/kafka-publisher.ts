import type { NormalizedEvent } from '@siem/core';
import { severityNames } from '@siem/core';
import type { KafkaProducerPool } from '@siem/kafka';
import type { RowPublisher } from './normalizing-sink.js';

export interface KafkaPublisherOptions {
  producer: KafkaProducerPool;
  /** Topic for every stored row, or null to skip. */
  normalizedTopic: string | null;
  /** Prefix of the per-severity topics (`siem.severity.`), and the severities routed there. */
  severityPrefix: string;
  routeSeverities: readonly string[];
}

/**
 * Publishes stored rows as JSON: all of them to siem.normalized, and those of the chosen severities to
 * siem.severity.<name> (the routing some deployments did with KSQL). Keyed by tenant and host, so one
 * host's events stay in order.
 */
export class KafkaRowPublisher implements RowPublisher {
  readonly #o: KafkaPublisherOptions;
  readonly #routed: Set<number>;

  constructor(options: KafkaPublisherOptions) {
    this.#o = options;
    this.#routed = new Set(
      options.routeSeverities.map((s) => severityNames.indexOf(s as never)).filter((i) => i >= 0),
    );
  }

  async publish(rows: readonly NormalizedEvent[]): Promise<void> {
    const all = rows.map((row) => ({
      key: `${row.tenantId}/${row.hostName ?? ''}`,
      value: Buffer.from(JSON.stringify(row)),
    }));
    const sends: Promise<void>[] = [];
    if (this.#o.normalizedTopic !== null) sends.push(this.#o.producer.sendTo(this.#o.normalizedTopic, all));
    if (this.#routed.size > 0) {
      const bySeverity = new Map<number, typeof all>();
      rows.forEach((row, i) => {
        if (!this.#routed.has(row.severity)) return;
        const list = bySeverity.get(row.severity);
        if (list === undefined) bySeverity.set(row.severity, [all[i]!]);
        else list.push(all[i]!);
      });
      for (const [severity, list] of bySeverity) {
        sends.push(this.#o.producer.sendTo(`${this.#o.severityPrefix}${severityNames[severity]}`, list));
      }
    }
    await Promise.all(sends);
  }
}
