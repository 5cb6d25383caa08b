import { Section, type Static, Type } from '@siem/config';

export const cloudHttpOptionsSchema = Section(
  {
    enabled: Type.Boolean({
      default: true,
      description:
        'Accept batches on POST /api/v1/ingest/{cloudtrail|azure_activity|gcp_logging} of the API server ' +
        '(keys with the ingest scope; without keys, loopback clients only). Stopped: the route answers 503.',
    }),
    tenant: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Tenant for events of this adapter (a key bound to a tenant always stamps its own).',
      }),
    ),
    ack: Type.Union([Type.Literal('memory'), Type.Literal('durable')], {
      default: 'memory',
      description:
        'When a batch is answered 202 (the sender then forgets it). memory: once its records are in the buffer. ' +
        'durable: once they are on disk and synced, surviving SIGKILL and power loss, at the cost of a disk write ' +
        'and fsync per request.',
    }),
    max_body_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      default: 10 * 1024 * 1024,
      description: 'Largest request body as sent (gzip-compressed or not); larger answers 413.',
    }),
    max_decoded_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      default: 50 * 1024 * 1024,
      description: 'Largest body after gunzip (the bound against decompression bombs); larger answers 413.',
    }),
    max_record_bytes: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 1024 * 1024,
      description:
        'Largest single record of a batch; a batch holding a larger one answers 413. Each record becomes ' +
        'one raw event (at most about twice this once encoded): keep it well under ' +
        'kafka.producer.max_message_bytes.',
    }),
    max_records: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 100_000,
      description:
        'Most rows one request may become: its records, each element of a record that is itself a batch ' +
        '(nested Records) and of a Pub/Sub message counted; more answers 413, found by a streaming scan ' +
        'before the body is parsed.',
    }),
    max_json_depth: Type.Integer({
      minimum: 4,
      maximum: 1000,
      default: 64,
      description: 'A body nesting arrays and objects deeper than this answers 400 (found by the scan).',
    }),
    max_concurrent_requests: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 4,
      description:
        'Ingest requests read and decoded at once; more answer 503 with Retry-After. Bounds the memory of ' +
        'bodies in flight (each up to max_body_bytes + max_decoded_bytes).',
    }),
    retry_after_seconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 5,
      description:
        'Retry-After of a 503 (buffer full or paused, adapter stopped, too many requests at once).',
    }),
  },
  {
    description:
      'Cloud log batches over HTTP on the API server: CloudTrail Records, Azure Activity records, GCP ' +
      'LogEntries (JSON, gzip allowed). 202 only once the batch is in the buffer.',
  },
);

export type CloudHttpOptions = Static<typeof cloudHttpOptionsSchema>;

export const cloudSourceTypes = ['cloudtrail', 'azure_activity', 'gcp_logging'] as const;
export type CloudSourceType = (typeof cloudSourceTypes)[number];
