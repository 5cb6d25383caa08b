import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry for the process. Components get their metrics through the get-or-create helpers so two
 * instances of an adapter (or a test that builds many) share one series set, labelled by instance.
 * Names follow `siem_<component>_<what>_<unit>`, counters end in `_total`.
 */
export const metricsRegistry = new Registry();

let defaultsCollected = false;
export function collectProcessMetrics(registry: Registry = metricsRegistry): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry });
}

const NAME = /^siem_[a-z0-9]+(_[a-z0-9]+)+$/;

function checkName(name: string, counter: boolean): void {
  if (!NAME.test(name)) throw new Error(`metric name ${name} does not follow siem_<component>_<what>_<unit>`);
  if (counter !== name.endsWith('_total')) {
    throw new Error(`metric ${name}: counters, and only counters, end in _total`);
  }
}

export function counter<L extends string>(
  config: CounterConfiguration<L>,
  registry: Registry = metricsRegistry,
): Counter<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Counter<L>;
  checkName(config.name, true);
  return new Counter({ ...config, registers: [registry] });
}

export function gauge<L extends string>(
  config: GaugeConfiguration<L>,
  registry: Registry = metricsRegistry,
): Gauge<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Gauge<L>;
  checkName(config.name, false);
  return new Gauge({ ...config, registers: [registry] });
}

export function histogram<L extends string>(
  config: HistogramConfiguration<L>,
  registry: Registry = metricsRegistry,
): Histogram<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Histogram<L>;
  checkName(config.name, false);
  return new Histogram({ ...config, registers: [registry] });
}
