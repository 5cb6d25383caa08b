import type { Registry } from 'prom-client';
import { COMPONENT_METRIC_NAMES, type ComponentRef } from '../component-metrics.js';

/** Which of a component's vocabulary series a test expects to have moved. */
export interface ComponentSeriesExpectation {
  /** `siem_component_received_events_total`, and for a source also `…_received_bytes_total`. */
  received?: boolean;
  sent?: boolean;
  /** Any reason, intentional or not. */
  discarded?: boolean;
  /** Any error code and stage. */
  errors?: boolean;
}

async function seriesSum(registry: Registry, name: string, ref: ComponentRef): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    const l = v.labels;
    if (l.component_id === ref.id && l.component_kind === ref.kind && l.component_type === ref.type)
      sum += v.value;
  }
  return sum;
}

/**
 * The value of one series of `name` for component `id` with `labels` (summed over the labels not
 * given), 0 when there is none: for tests that check amounts, not only that a series moved.
 */
export async function componentSeriesValue(
  registry: Registry,
  name: string,
  id: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const want: Record<string, string> = { component_id: id, ...labels };
  let sum = 0;
  for (const v of (await metric.get()).values) {
    if (Object.entries(want).every(([k, x]) => v.labels[k] === x)) sum += v.value;
  }
  return sum;
}

/**
 * The compliance check every adapter's tests run (issue 17): after driving the component, the
 * vocabulary series it is asked about are above zero for exactly its labels. Throws a plain Error
 * naming every series that did not move, so it works under any test runner.
 */
export async function expectComponentSeriesMoved(
  registry: Registry,
  ref: ComponentRef,
  expected: ComponentSeriesExpectation,
): Promise<void> {
  const wanted: string[] = [];
  if (expected.received) {
    wanted.push(COMPONENT_METRIC_NAMES.receivedEvents);
    if (ref.kind === 'source') wanted.push(COMPONENT_METRIC_NAMES.receivedBytes);
  }
  if (expected.sent) wanted.push(COMPONENT_METRIC_NAMES.sentEvents);
  if (expected.discarded) wanted.push(COMPONENT_METRIC_NAMES.discardedEvents);
  if (expected.errors) wanted.push(COMPONENT_METRIC_NAMES.errors);
  const still: string[] = [];
  for (const name of wanted) {
    const sum = await seriesSum(registry, name, ref);
    if (!(sum > 0)) still.push(`${name} = ${sum}`);
  }
  if (still.length > 0) {
    const who = `component_id="${ref.id}", component_kind="${ref.kind}", component_type="${ref.type}"`;
    throw new Error(`component series did not move for {${who}}:\n  ${still.join('\n  ')}`);
  }
}
