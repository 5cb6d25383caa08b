import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ComponentMetrics, type ComponentRef } from '../component-metrics.js';
import { expectComponentSeriesMoved } from './index.js';

const ref: ComponentRef = { id: 'fw_tcp', kind: 'source', type: 'syslog_tcp' };

describe('expectComponentSeriesMoved', () => {
  it('passes when every requested series of the component moved', async () => {
    const registry = new Registry();
    const m = new ComponentMetrics(ref, registry);
    m.received(1, 10);
    m.sent(1);
    m.discarded('rate_limited', true);
    m.error('bad_frame', 'receiving');
    await expectComponentSeriesMoved(registry, ref, {
      received: true,
      sent: true,
      discarded: true,
      errors: true,
    });
  });

  it('names every series that did not move, for exactly these labels', async () => {
    const registry = new Registry();
    new ComponentMetrics({ ...ref, id: 'other' }, registry).received(5, 50);
    new ComponentMetrics(ref, registry).received(1, 0);
    const check = expectComponentSeriesMoved(registry, ref, { received: true, sent: true, errors: true });
    await expect(check).rejects.toThrow(/component_id="fw_tcp"/);
    await expect(check).rejects.toThrow(/siem_component_received_bytes_total = 0/);
    await expect(check).rejects.toThrow(/siem_component_sent_events_total = 0/);
    await expect(check).rejects.toThrow(/siem_component_errors_total = 0/);
    await expect(check).rejects.not.toThrow(/received_events_total/);
  });

  it('does not ask a buffer or sink for received bytes', async () => {
    const registry = new Registry();
    const sink: ComponentRef = { id: 'kafka', kind: 'sink', type: 'kafka' };
    new ComponentMetrics(sink, registry).received(2, 0);
    await expectComponentSeriesMoved(registry, sink, { received: true });
  });
});
