import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayElements, memberValue } from './json-split.js';
import { accountOf, CloudRequestError, splitRecords } from './records.js';

/** Vendor samples committed with the normalizer (libs/normalize/src/fixtures, sources in its READMEs). */
const fixture = (path: string) =>
  readFileSync(new URL(`../../normalize/src/fixtures/${path}`, import.meta.url));
const LIMITS = { maxRecordBytes: 1024 * 1024, maxRecords: 1000 };

const split = (type: 'cloudtrail' | 'azure_activity' | 'gcp_logging', body: Buffer | string) => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return splitRecords(type, b, JSON.parse(b.toString()), LIMITS).map((r) => ({
    text: b.toString('utf8', r.start, r.end),
    key: accountOf(type, r.doc),
  }));
};

describe('splitting a batch into its records, each as sent', () => {
  it('a CloudTrail log file: one record per element of Records, bytes exactly as in the file', () => {
    const body = fixture('cloudtrail/log-file-batch.json');
    const records = split('cloudtrail', body);
    const parsed = JSON.parse(body.toString()).Records as unknown[];
    expect(records).toHaveLength(parsed.length);
    records.forEach((r, i) => {
      expect(JSON.parse(r.text)).toEqual(parsed[i]);
      expect(body.toString()).toContain(r.text);
    });
    expect(records[0]!.key).toBe('123456789012');
  });

  it('an Azure records batch, keyed by subscription', () => {
    const records = split('azure_activity', fixture('azure_activity/records-batch-constructed.json'));
    expect(records).toHaveLength(2);
    expect(records[0]!.key).toBe('00000000-1111-2222-3333-444444444444');
    expect(split('azure_activity', fixture('azure_activity/event-hub-records.json'))[0]!.key).toBe('s1');
  });

  it('GCP: a LogEntry, an array, {entries}, a Pub/Sub push envelope', () => {
    const entry = fixture('gcp_logging/audit-pubsub-create-topic.json').toString();
    expect(split('gcp_logging', entry)).toEqual([{ text: entry.trim(), key: 'test-project' }]);
    const other = fixture('gcp_logging/http-request-constructed.json').toString();
    expect(split('gcp_logging', `[${entry},\n ${other}]`).map((r) => r.text)).toEqual([
      entry.trim(),
      other.trim(),
    ]);
    expect(split('gcp_logging', `{"entries": [${entry}], "nextPageToken": "x"}`)).toHaveLength(1);
    const push = JSON.stringify({
      message: { data: Buffer.from(entry).toString('base64'), messageId: '1' },
      subscription: 'projects/other/subscriptions/siem',
    });
    expect(split('gcp_logging', push)).toEqual([{ text: push, key: 'test-project' }]);
  });

  it('one record on its own is one record', () => {
    const one = fixture('cloudtrail/console-login-failure-root.json').toString();
    expect(split('cloudtrail', one)).toHaveLength(1);
  });

  it('refuses what is not a batch of objects, with the record named', () => {
    const refusal = (type: 'cloudtrail' | 'gcp_logging', body: string): unknown[] | null => {
      try {
        split(type, body);
      } catch (err) {
        return err instanceof CloudRequestError ? [err.statusCode, err.reason, err.message] : [err];
      }
      return null;
    };
    expect(refusal('cloudtrail', '42')).toEqual([400, 'not_a_batch', expect.stringContaining('Records')]);
    expect(refusal('cloudtrail', '{"Records": [{}, 7]}')).toEqual([
      400,
      'record_not_object',
      'record 1 of the batch is not a JSON object',
    ]);
    expect(refusal('gcp_logging', '[[1]]')?.[1]).toBe('record_not_object');
  });

  it('refuses a record over the record limit, and too many records', () => {
    const big = JSON.stringify({ Records: [{ a: 1 }, { b: 'x'.repeat(2000) }] });
    expect(() =>
      splitRecords('cloudtrail', Buffer.from(big), JSON.parse(big), { ...LIMITS, maxRecordBytes: 1024 }),
    ).toThrow(/record 1 of the batch is \d+ bytes; at most 1024/);
    const many = JSON.stringify({ Records: [{}, {}, {}] });
    expect(() =>
      splitRecords('cloudtrail', Buffer.from(many), JSON.parse(many), { ...LIMITS, maxRecords: 2 }),
    ).toThrow(/3 records; at most 2/);
  });
});

describe('JSON scanner', () => {
  it('takes the last of repeated keys, as JSON.parse does, and escaped keys', () => {
    const b = Buffer.from('{"Records":[{"a":1}], "x":"]}\\"", "\\u0052ecords" : [ {"b":2} , {"c":"\\\\"} ]}');
    const doc = JSON.parse(b.toString());
    const at = memberValue(b, 0, 'Records');
    const parts = arrayElements(b, at).map(([s, e]) => JSON.parse(b.toString('utf8', s, e)));
    expect(parts).toEqual(doc.Records);
  });

  it('finds every element of any JSON array, whatever its formatting (property)', () => {
    const value = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(fc.array(value, { maxLength: 8 }), fc.constantFrom(0, 1, 2, '\t'), (arr, indent) => {
        const text = JSON.stringify(arr, null, indent as number | string);
        const b = Buffer.from(text);
        const parts = arrayElements(b, text.indexOf('['));
        expect(parts.map(([s, e]) => JSON.parse(b.toString('utf8', s, e)))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });
});
