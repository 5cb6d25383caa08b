import { metricsRegistry } from '@siem/observability';
import { expectComponentSeriesMoved } from '@siem/observability/testing';
import { describe, expect, it } from 'vitest';
import { BufferCounters, bump, trackCounters } from './metrics.js';

const ref = { id: 'metrics-unit', kind: 'buffer', type: 'memory_disk' } as const;
const labels = 'component_id="metrics-unit",component_kind="buffer",component_type="memory_disk"';

describe('buffer metrics', () => {
  it('feeds the component vocabulary from its plain counts when read, once per count', async () => {
    const c = new BufferCounters('metrics-unit');
    trackCounters(c);
    c.acceptedEvents.memory += 7;
    c.acceptedEvents.disk += 3;
    c.acceptedBytes.memory += 700;
    c.ackedEvents += 4;
    bump(c.dropped, 'full', 2);
    bump(c.dropped, 'closed');
    bump(c.lostEvents, 'corrupt', 5);
    bump(c.diskErrors, 'write');
    await expectComponentSeriesMoved(metricsRegistry, ref, {
      received: true,
      sent: true,
      discarded: true,
      errors: true,
    });
    await metricsRegistry.metrics(); // a second read pushes nothing twice
    c.ackedEvents += 1;
    const text = await metricsRegistry.metrics();
    expect(text).toContain(`siem_component_received_events_total{${labels}} 10`);
    expect(text).toContain(`siem_component_received_bytes_total{${labels}} 700`);
    expect(text).toContain(`siem_component_sent_events_total{${labels}} 5`);
    // rejected offers were never taken: the source that offered them counts them
    expect(text).not.toContain(`siem_component_discarded_events_total{${labels},reason="full"`);
    expect(text).not.toContain(`siem_component_discarded_events_total{${labels},reason="closed"`);
    expect(text).toContain(
      `siem_component_discarded_events_total{${labels},reason="corrupt",intentional="false"} 5`,
    );
    expect(text).toContain(
      `siem_component_errors_total{${labels},error_code="disk_write",stage="processing"} 1`,
    );
  });

  it('declares its own metrics when the module loads, without the ones the vocabulary has', () => {
    expect(metricsRegistry.getSingleMetric('siem_buffer_memory_fill_ratio')).toBeDefined();
    expect(metricsRegistry.getSingleMetric('siem_buffer_spilled_events_total')).toBeDefined();
    for (const gone of [
      'accepted_events',
      'accepted_bytes',
      'dropped_events',
      'acked_events',
      'lost_events',
    ]) {
      expect(metricsRegistry.getSingleMetric(`siem_buffer_${gone}_total`)).toBeUndefined();
    }
  });
});
