import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  beforeComponentCollect,
  COMPONENT_METRIC_NAMES,
  ComponentMetrics,
  type ComponentRef,
} from './component-metrics.js';
import { metricsRegistry } from './metrics.js';

const ref: ComponentRef = { id: 'fw_tcp', kind: 'source', type: 'syslog_tcp' };
const labels = { component_id: 'fw_tcp', component_kind: 'source', component_type: 'syslog_tcp' };

async function values(registry: Registry, name: string) {
  return (await registry.getSingleMetric(name)!.get()).values;
}

describe('ComponentMetrics', () => {
  it('counts received, sent, discarded and errors under the fixed names and labels', async () => {
    const registry = new Registry();
    const m = new ComponentMetrics(ref, registry);
    m.received(3, 120);
    m.received(2, 80);
    m.sent(4);
    m.discarded('rate_limited', true, 5);
    m.discarded('rate_limited', true);
    m.discarded('buffer_full', false, 2);
    m.error('SIEM_ERR_PARSE', 'processing');
    m.error('SIEM_ERR_PARSE', 'processing', 2);
    m.error('socket_reset', 'receiving');

    expect(await values(registry, COMPONENT_METRIC_NAMES.receivedEvents)).toEqual([{ labels, value: 5 }]);
    expect(await values(registry, COMPONENT_METRIC_NAMES.receivedBytes)).toEqual([{ labels, value: 200 }]);
    expect(await values(registry, COMPONENT_METRIC_NAMES.sentEvents)).toEqual([{ labels, value: 4 }]);
    expect(await values(registry, COMPONENT_METRIC_NAMES.discardedEvents)).toEqual([
      { labels: { ...labels, reason: 'rate_limited', intentional: 'true' }, value: 6 },
      { labels: { ...labels, reason: 'buffer_full', intentional: 'false' }, value: 2 },
    ]);
    expect(await values(registry, COMPONENT_METRIC_NAMES.errors)).toEqual([
      { labels: { ...labels, error_code: 'SIEM_ERR_PARSE', stage: 'processing' }, value: 3 },
      { labels: { ...labels, error_code: 'socket_reset', stage: 'receiving' }, value: 1 },
    ]);
  });

  it('keeps two instances of one type apart and shares the series of one id', async () => {
    const registry = new Registry();
    new ComponentMetrics({ id: 'a', kind: 'sink', type: 'kafka' }, registry).sent(1);
    new ComponentMetrics({ id: 'b', kind: 'sink', type: 'kafka' }, registry).sent(2);
    new ComponentMetrics({ id: 'b', kind: 'sink', type: 'kafka' }, registry).sent(3);
    const sent = await values(registry, COMPONENT_METRIC_NAMES.sentEvents);
    expect(sent.map((v) => [v.labels.component_id, v.value])).toEqual([
      ['a', 1],
      ['b', 5],
    ]);
  });

  it('ignores zero counts (no empty series)', async () => {
    const registry = new Registry();
    const m = new ComponentMetrics(ref, registry);
    m.discarded('x', true, 0);
    m.error('y', 'sending', 0);
    expect(await values(registry, COMPONENT_METRIC_NAMES.discardedEvents)).toEqual([]);
    expect(await values(registry, COMPONENT_METRIC_NAMES.errors)).toEqual([]);
  });

  it('declares the vocabulary on the process registry when the module loads', () => {
    for (const name of Object.values(COMPONENT_METRIC_NAMES)) {
      expect(metricsRegistry.getSingleMetric(name), name).toBeDefined();
    }
  });

  it('freezes its ref', () => {
    const m = new ComponentMetrics({ ...ref }, new Registry());
    expect(Object.isFrozen(m.ref)).toBe(true);
    expect(m.ref).toEqual(ref);
  });
});

describe('beforeComponentCollect', () => {
  it('runs before the series are read, on its registry only, until removed', async () => {
    const registry = new Registry();
    const m = new ComponentMetrics(ref, registry);
    let pending = 4;
    const remove = beforeComponentCollect(() => {
      m.sent(pending);
      pending = 0;
    }, registry);
    await new Registry().metrics();
    expect(pending).toBe(4);
    expect(await values(registry, COMPONENT_METRIC_NAMES.sentEvents)).toEqual([{ labels, value: 4 }]);
    remove();
    pending = 2;
    expect(await values(registry, COMPONENT_METRIC_NAMES.sentEvents)).toEqual([{ labels, value: 4 }]);
  });
});
