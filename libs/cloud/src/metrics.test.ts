import type { ApiServer } from '@siem/api';
import { MemoryIntake, testContext } from '@siem/core/testing';
import { type ComponentRef, metricsRegistry } from '@siem/observability';
import { componentSeriesValue, expectComponentSeriesMoved } from '@siem/observability/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudHttpIntake } from './intake.js';
import type { CloudHttpSource } from './source.js';
import { ingestApi, key, post } from './test-support/http.js';

/*
 * The component-metrics compliance check (issue 17) for cloud_http: real requests over HTTP to the
 * route on a real API server, then the vocabulary series of this adapter id must have moved, by the
 * amounts sent. The adapter id is this test's own, so other tests in the process do not colour it.
 */

const ID = 'cloud_compliance';
const ref: ComponentRef = { id: ID, kind: 'source', type: 'cloud_http' };

const value = (name: string, labels: Record<string, string> = {}) =>
  componentSeriesValue(metricsRegistry, name, ID, labels);

describe('cloud_http component metrics', () => {
  const ingest = key('forwarder', ['ingest']);
  const hub = new CloudHttpIntake();
  const intake = new MemoryIntake();
  let api: ApiServer;
  let base: string;
  let source: CloudHttpSource;

  beforeAll(async () => {
    ({ api, base } = await ingestApi(hub, [ingest.entry]));
    source = hub.adapter.create(ID, {}, testContext(intake)) as CloudHttpSource;
    await source.start();
  });
  afterAll(async () => {
    await source.stop();
    await api.close();
  });

  it('received, discarded and errors move for the adapter id, by what was sent', async () => {
    const t = { token: ingest.token };
    const batch = JSON.stringify({ Records: [{ eventName: 'a' }, { eventName: 'b' }, { eventName: 'c' }] });
    expect((await post(`${base}/cloudtrail`, batch, t)).status).toBe(202);
    expect((await post(`${base}/cloudtrail`, '{"Records":[{"eventName":', t)).status).toBe(400);
    expect((await post(`${base}/cloudtrail`, batch, { ...t, type: 'text/plain' })).status).toBe(415);
    intake.answer = 'rejected';
    expect((await post(`${base}/cloudtrail`, batch, t)).status).toBe(503);
    intake.rejectReason = 'closed';
    expect((await post(`${base}/cloudtrail`, batch, t)).status).toBe(503);

    await expectComponentSeriesMoved(metricsRegistry, ref, { received: true, discarded: true, errors: true });
    expect(await value('siem_component_received_events_total')).toBe(3);
    expect(await value('siem_component_received_bytes_total')).toBe(Buffer.byteLength(batch));
    // a full buffer is backpressure (the sender resends): intended; a closed one is a failure
    expect(
      await value('siem_component_discarded_events_total', { reason: 'buffer_full', intentional: 'true' }),
    ).toBe(3);
    expect(
      await value('siem_component_discarded_events_total', { reason: 'buffer_closed', intentional: 'false' }),
    ).toBe(3);
    expect(
      await value('siem_component_errors_total', { error_code: 'invalid_json', stage: 'processing' }),
    ).toBe(1);
    expect(
      await value('siem_component_errors_total', {
        error_code: 'unsupported_media_type',
        stage: 'receiving',
      }),
    ).toBe(1);
    expect(
      await value('siem_component_errors_total', { error_code: 'buffer_closed', stage: 'sending' }),
    ).toBe(1);
    // the cloud-only series stay beside the vocabulary; the ones it replaces are gone
    const refused = (await metricsRegistry.getSingleMetric('siem_cloud_refused_requests_total')?.get())
      ?.values;
    expect(refused?.filter((v) => v.labels.adapter === ID).reduce((s, v) => s + v.value, 0)).toBe(4);
    for (const gone of [
      'siem_cloud_received_records_total',
      'siem_cloud_received_bytes_total',
      'siem_cloud_refused_records_total',
    ]) {
      expect(metricsRegistry.getSingleMetric(gone), gone).toBeUndefined();
    }
  });
});
