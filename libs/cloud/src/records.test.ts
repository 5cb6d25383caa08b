import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchScanner } from './json-scan.js';
import { accountOf, CloudRequestError, parseRecords, scanRecords } from './records.js';

/** Vendor samples committed with the normalizer (libs/normalize/src/fixtures, sources in its READMEs). */
const fixture = (path: string) =>
  readFileSync(new URL(`../../normalize/src/fixtures/${path}`, import.meta.url));
const LIMITS = { maxRecordBytes: 1024 * 1024, maxRecords: 1000 };

type SourceType = 'cloudtrail' | 'azure_activity' | 'gcp_logging';
const split = async (type: SourceType, body: Buffer | string, limits = LIMITS) => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const records = await parseRecords(type, b, scanRecords(type, b, limits), limits);
  return records.map((r) => ({ text: b.toString('utf8', r.start, r.end), key: accountOf(type, r.doc) }));
};
/** The elements of a top-level array, as the scanner finds them. */
const elements = (text: string) => {
  const b = Buffer.from(text);
  return scanRecords('gcp_logging', b, { maxRecordBytes: 1 << 20, maxRecords: 1000, maxDepth: 100 }).map(
    (r) => b.toString('utf8', r.start, r.end),
  );
};

describe('splitting a batch into its records, each as sent', () => {
  it('a CloudTrail log file: one record per element of Records, bytes exactly as in the file', async () => {
    const body = fixture('cloudtrail/log-file-batch.json');
    const records = await split('cloudtrail', body);
    const parsed = JSON.parse(body.toString()).Records as unknown[];
    expect(records).toHaveLength(parsed.length);
    records.forEach((r, i) => {
      expect(JSON.parse(r.text)).toEqual(parsed[i]);
      expect(body.toString()).toContain(r.text);
    });
    expect(records[0]!.key).toBe('123456789012');
  });

  it('an Azure records batch, keyed by subscription', async () => {
    const records = await split('azure_activity', fixture('azure_activity/records-batch-constructed.json'));
    expect(records).toHaveLength(2);
    expect(records[0]!.key).toBe('00000000-1111-2222-3333-444444444444');
    expect((await split('azure_activity', fixture('azure_activity/event-hub-records.json')))[0]!.key).toBe(
      's1',
    );
  });

  it('GCP: a LogEntry, an array, {entries}, a Pub/Sub push envelope', async () => {
    const entry = fixture('gcp_logging/audit-pubsub-create-topic.json').toString();
    expect(await split('gcp_logging', entry)).toEqual([{ text: entry.trim(), key: 'test-project' }]);
    const other = fixture('gcp_logging/http-request-constructed.json').toString();
    expect((await split('gcp_logging', `[${entry},\n ${other}]`)).map((r) => r.text)).toEqual([
      entry.trim(),
      other.trim(),
    ]);
    expect(await split('gcp_logging', `{"entries": [${entry}], "nextPageToken": "x"}`)).toHaveLength(1);
    const push = JSON.stringify({
      message: { data: Buffer.from(entry).toString('base64'), messageId: '1' },
      subscription: 'projects/other/subscriptions/siem',
    });
    expect(await split('gcp_logging', push)).toEqual([{ text: push, key: 'test-project' }]);
  });

  it('one record on its own is one record', async () => {
    const one = fixture('cloudtrail/console-login-failure-root.json').toString();
    expect(await split('cloudtrail', one)).toHaveLength(1);
  });

  it('refuses what is not a batch of objects, with the record named', async () => {
    const refusal = async (type: 'cloudtrail' | 'gcp_logging', body: string): Promise<unknown[] | null> => {
      try {
        await split(type, body);
      } catch (err) {
        return err instanceof CloudRequestError ? [err.statusCode, err.reason, err.message] : [err];
      }
      return null;
    };
    expect(await refusal('cloudtrail', '42')).toEqual([
      400,
      'not_a_batch',
      expect.stringContaining('Records'),
    ]);
    expect(await refusal('cloudtrail', '{"Records": [{}, 7]}')).toEqual([
      400,
      'record_not_object',
      'record 1 of the batch is not a JSON object',
    ]);
    expect((await refusal('gcp_logging', '[[1]]'))?.[1]).toBe('record_not_object');
  });

  it('refuses a record over the record limit, and too many records', async () => {
    const big = JSON.stringify({ Records: [{ a: 1 }, { b: 'x'.repeat(2000) }] });
    await expect(split('cloudtrail', big, { ...LIMITS, maxRecordBytes: 1024 })).rejects.toThrow(
      /record 1 of the batch is \d+ bytes; at most 1024/,
    );
    const many = JSON.stringify({ Records: [{}, {}, {}] });
    await expect(split('cloudtrail', many, { ...LIMITS, maxRecords: 2 })).rejects.toThrow(
      /more than 2 records .*at most 2 per request/,
    );
  });
});

describe('JSON scanner', () => {
  it('takes the last of repeated keys, as JSON.parse does, and escaped keys', () => {
    const b = Buffer.from('{"Records":[{"a":1}], "x":"]}\\"", "\\u0052ecords" : [ {"b":2} , {"c":"\\\\"} ]}');
    const doc = JSON.parse(b.toString());
    const parts = scanRecords('cloudtrail', b, LIMITS).map((r) =>
      JSON.parse(b.toString('utf8', r.start, r.end)),
    );
    expect(parts).toEqual(doc.Records);
  });

  it('finds every element of any JSON array of objects, whatever its formatting (property)', () => {
    const value = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 8 }), fc.constantFrom(0, 1, 2, '\t'), (arr, indent) => {
        const text = JSON.stringify(arr, null, indent as number | string);
        expect(elements(text).map((e) => JSON.parse(e))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts exactly what JSON.parse accepts, whatever the chunking (property)', () => {
    // valid batches, and the same text with one byte changed or cut: the scanner and JSON.parse agree
    const batch = fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), { maxLength: 5 });
    fc.assert(
      fc.property(
        batch,
        fc.nat(),
        fc.constantFrom('', ',', ']', '}', '"', '\\', '-', '0', 'e', 'x', '\n', ' ', '\u0001'),
        fc.integer({ min: 1, max: 7 }),
        (arr, at, replace, chunk) => {
          const valid = JSON.stringify(arr);
          const p = valid.length === 0 ? 0 : at % valid.length;
          for (const text of [valid, valid.slice(0, p) + replace + valid.slice(p + 1)]) {
            let parsed = true;
            try {
              JSON.parse(text);
            } catch {
              parsed = false;
            }
            const b = Buffer.from(text);
            const scanner = new BatchScanner('entries', {
              maxRecords: 1000,
              maxRecordBytes: 1 << 20,
              maxDepth: 100,
            });
            let scanned = true;
            try {
              for (let i = 0; i < b.length; i += chunk) scanner.write(b.subarray(i, i + chunk));
              scanner.end();
            } catch (err) {
              if (!(err instanceof CloudRequestError)) throw err;
              // a JSON value that is not a batch of objects is refused for that before it is read whole
              if (err.reason === 'not_a_batch' || err.reason === 'record_not_object') continue;
              scanned = !['invalid_json', 'empty_body'].includes(err.reason);
            }
            expect(scanned, text).toBe(parsed);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('counts the rows of nested batches, and refuses too many before reading on', () => {
    const nested = JSON.stringify([{ Records: [{}, {}, {}] }, { eventName: 'x' }, { Records: [] }]);
    expect(scanRecords('cloudtrail', Buffer.from(nested), LIMITS).map((r) => r.rows)).toEqual([3, 1, 1]);
    const scanner = new BatchScanner('Records', { maxRecords: 10, maxRecordBytes: 1 << 20, maxDepth: 64 });
    scanner.write(Buffer.from('[{"Records":['));
    expect(() => scanner.write(Buffer.from('{},'.repeat(11)))).toThrow(/more than 10 records/);
  });

  it('refuses a body nested deeper than the limit, and a record over its size while it is still open', () => {
    const deep = `[{"a":${'['.repeat(70)}${']'.repeat(70)}}]`;
    expect(() => scanRecords('cloudtrail', Buffer.from(deep), { ...LIMITS, maxDepth: 64 })).toThrow(
      /deeper than 64/,
    );
    const scanner = new BatchScanner('Records', { maxRecords: 10, maxRecordBytes: 1024, maxDepth: 64 });
    scanner.write(Buffer.from('{"Records":[{"a":"'));
    expect(() => scanner.write(Buffer.alloc(2000, 0x61))).toThrow(/record 0 of the batch is over \d+ bytes/);
  });

  it('counts the entries of a Pub/Sub message as rows', async () => {
    const data = Buffer.from(JSON.stringify({ entries: [{ logName: 'a' }, { logName: 'b' }] })).toString(
      'base64',
    );
    const push = Buffer.from(
      JSON.stringify({ message: { data }, subscription: 'projects/p/subscriptions/s' }),
    );
    const records = await parseRecords('gcp_logging', push, scanRecords('gcp_logging', push, LIMITS), LIMITS);
    expect(records.map((r) => r.rows)).toEqual([2]);
    await expect(
      parseRecords('gcp_logging', push, scanRecords('gcp_logging', push, LIMITS), { maxRecords: 1 }),
    ).rejects.toThrow(/Pub\/Sub/);
  });
});
