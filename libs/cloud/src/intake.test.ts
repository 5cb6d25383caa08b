import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { ApiServer } from '@siem/api';
import { MemoryIntake, testContext } from '@siem/core/testing';
import { normalizeAll } from '@siem/normalize';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudHttpIntake } from './intake.js';
import type { CloudHttpSource } from './source.js';
import { type Answer, ingestApi, key, post } from './test-support/http.js';

/*
 * cloud_http on a real API server over HTTP on 127.0.0.1 (no external service): the batches of the
 * vendor samples (libs/normalize/src/fixtures), plain and gzip, each record one raw event decoded back
 * with decodeRawEvent; and every refusal with its status, code, message and counter.
 */

const fixture = (path: string) =>
  readFileSync(new URL(`../../normalize/src/fixtures/${path}`, import.meta.url));

const keys = {
  ingest: key('forwarder', ['ingest']),
  reader: key('reader', ['read']),
  acme: key('acme-fwd', ['ingest'], 'acme'),
};

describe('cloud_http on the API server', () => {
  let api: ApiServer;
  let base: string;
  const hub = new CloudHttpIntake();
  let intake: MemoryIntake;
  let source: CloudHttpSource;

  beforeAll(async () => {
    // the API's own body limit is small: the ingest route has its own
    ({ api, base } = await ingestApi(
      hub,
      Object.values(keys).map((k) => k.entry),
      { body_limit_bytes: 4096 },
    ));
  });
  afterAll(() => api.close());

  beforeEach(async () => {
    await source?.stop();
    intake = new MemoryIntake();
    source = hub.adapter.create(
      'cloud_http',
      { max_body_bytes: 64 * 1024, max_decoded_bytes: 256 * 1024, max_record_bytes: 16 * 1024 },
      testContext(intake),
    ) as CloudHttpSource;
    await source.start();
  });

  it('a CloudTrail Records file: one raw event per record, payload as sent, 202 once in the buffer', async () => {
    const body = fixture('cloudtrail/log-file-batch.json');
    const r = await post(`${base}/cloudtrail`, body, { token: keys.ingest.token });
    expect(r.status).toBe(202);
    const records = JSON.parse(body.toString()).Records as unknown[];
    expect(r.body).toEqual({ accepted: records.length, events: records.length, source_type: 'cloudtrail' });
    expect(intake.batchSizes).toEqual([records.length]); // one offer: all of the batch or nothing
    const events = intake.events();
    events.forEach((e, i) => {
      expect(e.sourceType).toBe('cloudtrail');
      expect(e.syslog).toBeNull();
      expect(e.tenant).toBe('default');
      expect(e.source).toMatchObject({ adapter: 'cloud_http', transport: 'http', peerAddress: '127.0.0.1' });
      expect(JSON.parse(e.payload.toString())).toEqual(records[i]);
      expect(body.toString()).toContain(e.payload.toString()); // the record's own bytes
    });
    expect(intake.records[0]!.key).toBe('123456789012');
    // each raw event is one row for the CloudTrail normalizer, under the raw event's id
    expect(events.map((e) => normalizeAll(e).map((r) => [r.eventId, r.action]))).toEqual(
      events.map((e, i) => [[e.id, (records[i] as { eventName: string }).eventName]]),
    );
    expect(source.status()).toMatchObject({
      state: 'running',
      listen: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/ingest\/\{source_type\}$/),
      counters: { accepted_requests: 1, received_events: records.length, received_bytes: body.length },
    });
  });

  it('an Azure records batch, gzip-compressed', async () => {
    const body = fixture('azure_activity/records-batch-constructed.json');
    const r = await post(`${base}/azure_activity`, gzipSync(body), {
      token: keys.ingest.token,
      encoding: 'gzip',
    });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
    const events = intake.events();
    expect(events.map((e) => e.sourceType)).toEqual(['azure_activity', 'azure_activity']);
    expect(events.map((e) => JSON.parse(e.payload.toString()))).toEqual(JSON.parse(body.toString()).records);
    expect(intake.records[0]!.key).toBe('00000000-1111-2222-3333-444444444444');
    expect(events.flatMap((e) => normalizeAll(e)).map((r) => r.sourceType)).toEqual([
      'azure_activity',
      'azure_activity',
    ]);
  });

  it('GCP LogEntries as an array, plain and gzip; a tenant-bound key stamps its tenant', async () => {
    const entries = [
      'audit-pubsub-create-topic.json',
      'audit-monitoring-create-time-series.json',
      'audit-permission-denied-constructed.json',
      'http-request-constructed.json',
    ].map((f) => JSON.parse(fixture(`gcp_logging/${f}`).toString()));
    const body = JSON.stringify(entries);
    expect((await post(`${base}/gcp_logging`, body, { token: keys.ingest.token })).status).toBe(202);
    const r = await post(`${base}/gcp_logging`, gzipSync(body), {
      token: keys.acme.token,
      encoding: 'x-gzip',
    });
    expect(r.body).toEqual({ accepted: 4, events: 4, source_type: 'gcp_logging' });
    const events = intake.events();
    expect(events).toHaveLength(8);
    expect(events.map((e) => JSON.parse(e.payload.toString()))).toEqual([...entries, ...entries]);
    expect(events.map((e) => e.tenant)).toEqual([...Array(4).fill('default'), ...Array(4).fill('acme')]);
    expect(events.flatMap((e) => normalizeAll(e))).toHaveLength(8);
    expect(intake.records.map((x) => x.key).slice(0, 4)).toEqual(
      entries.map((e) => e.resource.labels.project_id ?? expect.any(String)),
    );
  });

  it('a body over the API body_limit_bytes is fine up to max_body_bytes', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({
      eventName: 'GetObject',
      recipientAccountId: `a${i}`,
      pad: 'x'.repeat(200),
    }));
    const body = JSON.stringify({ Records: records });
    expect(body.length).toBeGreaterThan(4096);
    const r = await post(`${base}/cloudtrail`, body, { token: keys.ingest.token });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(40);
  });

  it('wrong key, missing key, wrong scope: 401/403 before the body is read, nothing taken', async () => {
    const body = fixture('cloudtrail/log-file-batch.json');
    const none = await post(`${base}/cloudtrail`, body);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('SIEM_ERR_AUTH');
    const wrong = await post(`${base}/cloudtrail`, body, { token: `${keys.ingest.token}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toMatch(/not a valid API key/);
    const reader = await post(`${base}/cloudtrail`, body, { token: keys.reader.token });
    expect(reader.status).toBe(403);
    expect(reader.body.message).toMatch(/ingest scope/);
    expect(intake.records).toHaveLength(0);
  });

  it('answers 400/413/415 with a clear message, counted by reason, nothing taken', async () => {
    const t = { token: keys.ingest.token };
    const cases: [string, Promise<Answer>, number, string, RegExp][] = [
      [
        'unknown source type',
        post(`${base}/syslog`, '{}', t),
        400,
        'SIEM_ERR_REQUEST_INVALID',
        /source_type must be one of cloudtrail, azure_activity, gcp_logging/,
      ],
      [
        'invalid JSON',
        post(`${base}/cloudtrail`, '{"Records": [', t),
        400,
        'SIEM_ERR_REQUEST_INVALID',
        /not valid JSON/,
      ],
      [
        'not an object',
        post(`${base}/cloudtrail`, '{"Records": [1]}', t),
        400,
        'SIEM_ERR_REQUEST_INVALID',
        /record 0 of the batch is not a JSON object/,
      ],
      ['empty', post(`${base}/cloudtrail`, '', t), 400, 'SIEM_ERR_REQUEST_INVALID', /empty/],
      [
        'bad gzip',
        post(`${base}/cloudtrail`, 'not gzip', { ...t, encoding: 'gzip' }),
        400,
        'SIEM_ERR_REQUEST_INVALID',
        /does not gunzip/,
      ],
      [
        'invalid UTF-8',
        post(`${base}/cloudtrail`, Buffer.from([0x7b, 0xff, 0x7d]), t),
        400,
        'SIEM_ERR_REQUEST_INVALID',
        /not UTF-8/,
      ],
      [
        'content type',
        post(`${base}/cloudtrail`, '{}', { ...t, type: 'text/plain' }),
        415,
        'SIEM_ERR_UNSUPPORTED_MEDIA_TYPE',
        /Content-Type text\/plain is not accepted/,
      ],
      [
        'no content type',
        post(`${base}/cloudtrail`, '{}', { ...t, type: null }),
        415,
        'SIEM_ERR_UNSUPPORTED_MEDIA_TYPE',
        /\(none\)/,
      ],
      [
        'encoding',
        post(`${base}/cloudtrail`, '{}', { ...t, encoding: 'br' }),
        415,
        'SIEM_ERR_UNSUPPORTED_MEDIA_TYPE',
        /Content-Encoding br/,
      ],
      [
        'body',
        post(`${base}/cloudtrail`, 'x'.repeat(100_000), t),
        413,
        'SIEM_ERR_PAYLOAD_TOO_LARGE',
        /max_body_bytes/,
      ],
      [
        'gzip bomb',
        post(
          `${base}/cloudtrail`,
          gzipSync(`{"Records":[${`{"a":"${'x'.repeat(1000)}"}`.repeat(1000)}]}`.replaceAll('}{', '},{')),
          {
            ...t,
            encoding: 'gzip',
          },
        ),
        413,
        'SIEM_ERR_PAYLOAD_TOO_LARGE',
        /max_decoded_bytes/,
      ],
      [
        'record',
        post(`${base}/cloudtrail`, JSON.stringify({ Records: [{ a: 'x'.repeat(20_000) }] }), t),
        413,
        'SIEM_ERR_PAYLOAD_TOO_LARGE',
        /record 0 of the batch is \d+ bytes/,
      ],
    ];
    for (const [what, answer, status, code, message] of cases) {
      const r = await answer;
      expect(r.status, what).toBe(status);
      expect(r.body.code, what).toBe(code);
      expect(r.body.message, what).toMatch(message);
    }
    expect(intake.records).toHaveLength(0);
    expect(source.status().counters).toMatchObject({
      refused_requests: cases.length - 1, // the unknown source type is refused by the route's schema
      refused_invalid_json: 1,
      refused_record_not_object: 1,
      refused_unsupported_media_type: 2,
      refused_body_too_large: 1,
      refused_decoded_too_large: 1,
      refused_record_too_large: 1,
    });
    // the server keeps serving
    expect((await post(`${base}/cloudtrail`, '{"Records":[{"eventName":"x"}]}', t)).status).toBe(202);
  });

  it('a body whose Content-Length is over the limit is refused before it is read', async () => {
    const r = await post(`${base}/cloudtrail`, 'x'.repeat(70_000), { token: keys.ingest.token });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
  });

  it('a chunked body (no Content-Length) is cut off at the limit and refused', async () => {
    const r = await post(`${base}/cloudtrail`, 'x'.repeat(70_000), {
      token: keys.ingest.token,
      chunked: true,
    });
    expect(r.status).toBe(413);
    expect(r.body.message).toMatch(/over 65536 bytes/);
    const ok = JSON.stringify({ Records: [{ eventName: 'x', pad: 'y'.repeat(10_000) }] });
    expect((await post(`${base}/cloudtrail`, ok, { token: keys.ingest.token, chunked: true })).status).toBe(
      202,
    );
  });

  it('503 with Retry-After when the buffer rejects: nothing of the batch taken, counted', async () => {
    intake.answer = 'rejected';
    const body = fixture('cloudtrail/log-file-batch.json');
    const r = await post(`${base}/cloudtrail`, body, { token: keys.ingest.token });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.body).toMatchObject({
      code: 'SIEM_ERR_BUFFER_FULL',
      message: expect.stringMatching(/resend it later/),
    });
    expect(source.status().counters).toMatchObject({ refused_buffer_full: 1, discarded_events: 5 });
  });

  it("'pause': the batch is taken (202), later ones get 503 until the buffer resumes", async () => {
    intake.answer = 'pause';
    const body = '{"Records":[{"eventName":"a"}]}';
    expect((await post(`${base}/cloudtrail`, body, { token: keys.ingest.token })).status).toBe(202);
    const held = await post(`${base}/cloudtrail`, body, { token: keys.ingest.token });
    expect(held.status).toBe(503);
    expect(held.headers['retry-after']).toBe('5');
    expect(held.body.message).toMatch(/pause/);
    intake.resume();
    expect((await post(`${base}/cloudtrail`, body, { token: keys.ingest.token })).status).toBe(202);
    expect(intake.records).toHaveLength(2);
    expect(source.status().counters.refused_paused).toBe(1);
  });

  it('stopped adapter: 503; started again: accepted (the control API lists it like other adapters)', async () => {
    await source.stop();
    expect(source.status()).toMatchObject({ state: 'stopped', listen: null });
    const r = await post(`${base}/cloudtrail`, '{"Records":[{"eventName":"a"}]}', {
      token: keys.ingest.token,
    });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('SIEM_ERR_UNAVAILABLE');
    await source.start();
    expect(
      (await post(`${base}/cloudtrail`, '{"Records":[{"eventName":"a"}]}', { token: keys.ingest.token }))
        .status,
    ).toBe(202);
  });

  it('publishes the route in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base.replace('/api/v1/ingest', '')}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toContain('/api/v1/ingest/{source_type}');
  });
});
