import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServer } from '@siem/api';
import { type BufferOptions, bufferOptionsSchema, EventBuffer } from '@siem/buffer';
import { validateOrThrow } from '@siem/config';
import { MemoryIntake, testContext } from '@siem/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { CloudHttpIntake } from './intake.js';
import type { CloudHttpSource } from './source.js';
import { ingestApi, key, post } from './test-support/http.js';

/*
 * cloud_http with ack: durable against the real buffer: a 202 means the records are on disk and
 * synced. The process "dies" right after the answer (EventBuffer.abandon: what a kill -9 leaves) and
 * a new buffer on the same folder still has them.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function buffer(dir: string): Promise<EventBuffer> {
  const options = validateOrThrow<BufferOptions>(bufferOptionsSchema, { dir, max_events: 100_000 });
  const b = new EventBuffer({ ...options, dir }, { name: 'durable-test' });
  await b.open();
  return b;
}

describe('cloud_http ack: durable', () => {
  const ingest = key('forwarder', ['ingest']);
  let api: ApiServer | null = null;
  afterAll(() => api?.close());

  it('answers 202 only once the records are on disk: a crash right after keeps them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-cloud-durable-'));
    dirs.push(dir);
    const hub = new CloudHttpIntake();
    const started = await ingestApi(hub, [ingest.entry]);
    api = started.api;
    const first = await buffer(dir);
    const source = hub.adapter.create(
      'cloud_durable',
      { ack: 'durable' },
      testContext(first),
    ) as CloudHttpSource;
    await source.start();
    const batch = JSON.stringify({ Records: [{ eventName: 'a' }, { eventName: 'b' }, { eventName: 'c' }] });
    const r = await post(`${started.base}/cloudtrail`, batch, { token: ingest.token });
    expect(r.status).toBe(202);
    await first.abandon(); // kill -9 at this point
    await source.stop();

    const second = await buffer(dir);
    const lease = await second.next(100);
    expect(lease?.records).toHaveLength(3);
    second.ack(lease!);
    await second.close();
  });

  it('refuses with 503 when the intake cannot make records durable, rather than answering 202 from memory', async () => {
    const hub = new CloudHttpIntake();
    const started = await ingestApi(hub, [ingest.entry]);
    const intake = new MemoryIntake(); // no offerDurable
    const source = hub.adapter.create(
      'cloud_durable2',
      { ack: 'durable' },
      testContext(intake),
    ) as CloudHttpSource;
    await source.start();
    const r = await post(`${started.base}/cloudtrail`, '{"Records":[{"eventName":"a"}]}', {
      token: ingest.token,
    });
    expect(r.status).toBe(503);
    expect(intake.records).toHaveLength(0);
    await source.stop();
    await started.api.close();
  });
});
