import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ComponentMetrics } from './component-metrics.js';
import { counter, gauge, histogram } from './metrics.js';
import { describeMetrics, renderMetricsDoc } from './metrics-doc.js';

describe('metrics doc', () => {
  it('describes every siem_ metric of a registry, sorted, with type, labels and help', async () => {
    const registry = new Registry();
    gauge({ name: 'siem_zeta_open_things', help: 'Things open | now.' }, registry);
    histogram({ name: 'siem_alpha_wait_seconds', help: 'Waits.', labelNames: ['kind'] }, registry);
    counter({ name: 'siem_alpha_hits_total', help: 'Hits,\nby reason.', labelNames: ['reason'] }, registry);
    new ComponentMetrics({ id: 'a', kind: 'sink', type: 'kafka' }, registry);
    const described = await describeMetrics(registry);
    expect(described.map((m) => m.name)).toEqual([
      'siem_alpha_hits_total',
      'siem_alpha_wait_seconds',
      'siem_component_discarded_events_total',
      'siem_component_errors_total',
      'siem_component_received_bytes_total',
      'siem_component_received_events_total',
      'siem_component_sent_events_total',
      'siem_zeta_open_things',
    ]);
    expect(described[1]).toEqual({
      name: 'siem_alpha_wait_seconds',
      type: 'histogram',
      labels: ['kind'],
      help: 'Waits.',
    });

    const doc = renderMetricsDoc(described, '# Metrics\n\nGenerated.');
    const sections = doc.split('\n').filter((l) => l.startsWith('## '));
    expect(sections).toEqual([
      '## Component vocabulary (every source, buffer and sink)',
      '## siem_alpha_*',
      '## siem_zeta_*',
    ]);
    expect(doc).toContain('| `siem_alpha_hits_total` | counter | `reason` | Hits, by reason. |');
    expect(doc).toContain('| `siem_zeta_open_things` | gauge |  | Things open \\| now. |');
    expect(doc).toContain(
      '| `siem_component_errors_total` | counter | `component_id`, `component_kind`, `component_type`, `error_code`, `stage` |',
    );
    expect(doc.endsWith('|\n')).toBe(true);
  });
});
