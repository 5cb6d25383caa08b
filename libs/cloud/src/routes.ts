import type { Readable } from 'node:stream';
import { type BufferRecord, type ErrorCode, RawEventEncoder } from '@siem/core';
import { normalizePeer } from '@siem/net';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acceptedMediaType, decodeBody, encodingOf, readLimited } from './body.js';
import { type CloudRefusal, CloudRequestError } from './errors.js';
import type { CloudMetrics } from './metrics.js';
import { type CloudSourceType, cloudSourceTypes } from './options.js';
import { accountOf, batchKeys, type CloudRecord, parseRecords } from './records.js';
import type { CloudHttpSource } from './source.js';
import { LoopTurns, SLICE_BYTES } from './turns.js';

/** The intake route on the API server. */
export const INGEST_ROUTE = '/api/v1/ingest/:source_type';

/**
 * What the API server hosting the route hands it (libs/api owns keys and scopes; this library does not
 * import it): whoever registers the plugin passes these, so the dependency points from the API side to
 * the intake and never back.
 */
export interface IngestRouteHost {
  /** The route's `config` that the API's access check reads before the body: a key with this scope. */
  access(scope: 'ingest'): FastifyContextConfig;
  /** The API's error body (`{statusCode, code, message}`), for the route's error answers. */
  errorSchema: object;
  /** The tenant the request's API key is bound to; null for a key of any tenant (or none). */
  tenantOf(request: FastifyRequest): string | null;
}

/** What the route asks of the intake it serves (CloudHttpIntake). */
export interface IngestTarget {
  /** The started cloud_http adapter, or null: the route answers 503. */
  readonly active: CloudHttpSource | null;
  metrics(name?: string): CloudMetrics;
}

interface Refusal {
  status: 400 | 413 | 415 | 503;
  code: ErrorCode;
  reason: CloudRefusal;
  message: string;
  records?: number;
}

function bodyError(err: CloudRequestError): Refusal {
  const code: ErrorCode =
    err.statusCode === 413
      ? 'SIEM_ERR_PAYLOAD_TOO_LARGE'
      : err.statusCode === 415
        ? 'SIEM_ERR_UNSUPPORTED_MEDIA_TYPE'
        : 'SIEM_ERR_REQUEST_INVALID';
  return { status: err.statusCode, code, reason: err.reason, message: err.message };
}

function bodyTooLarge(what: string): Refusal {
  return bodyError(
    new CloudRequestError(413, 'body_too_large', `${what} (cloud_http.max_body_bytes): split the batch`),
  );
}

const unavailableMessages = {
  stopped: 'the cloud_http adapter is stopped: start it (control API) or retry later',
  paused: 'the buffer asked intake to pause: retry later',
  busy: 'too many ingest requests are being read at once (cloud_http.max_concurrent_requests): retry later',
} as const;

/** A 503: the sender keeps the batch and resends it after Retry-After. */
function unavailable(reason: keyof typeof unavailableMessages): Refusal {
  return {
    status: 503,
    code: reason === 'paused' ? 'SIEM_ERR_BUFFER_FULL' : 'SIEM_ERR_UNAVAILABLE',
    reason,
    message: unavailableMessages[reason],
  };
}

const ingestResponse = {
  type: 'object',
  properties: {
    accepted: {
      type: 'integer',
      description:
        'Rows the batch becomes once normalized: one per record, the elements of a record that is itself a ' +
        'batch (nested Records, a Pub/Sub message holding several entries) each counted.',
    },
    events: {
      type: 'integer',
      description: 'Raw events taken into the buffer (one per record of the batch).',
    },
    source_type: { type: 'string' },
  },
  required: ['accepted', 'events', 'source_type'],
} as const;

/**
 * `POST /api/v1/ingest/:source_type`: reads, decodes and scans the body (body.ts), encodes one raw event
 * per record and offers the batch whole to the active adapter; every refusal is answered with its
 * status and code and counted. One per API server.
 */
export class IngestRoute {
  readonly #target: IngestTarget;
  readonly #host: IngestRouteHost;
  /** Requests whose body is being read, decoded or offered (bounded by max_concurrent_requests). */
  #inFlight = 0;

  constructor(target: IngestTarget, host: IngestRouteHost) {
    this.#target = target;
    this.#host = host;
  }

  /** Registers the route in `scope`, an encapsulated context of the API server (its own body parsing). */
  register(scope: FastifyInstance): void {
    const errorSchema = this.#host.errorSchema;
    // The body is read by the handler itself: its own size limits (not the API's body_limit_bytes),
    // gzip, and each record's bytes as sent.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.post(
      INGEST_ROUTE,
      {
        config: this.#host.access('ingest'),
        schema: {
          tags: ['ingest'],
          summary: 'Cloud log batches: CloudTrail, Azure Activity, GCP Cloud Logging.',
          description:
            'Body: JSON (Content-Type application/json), optionally Content-Encoding: gzip. cloudtrail: a ' +
            '{"Records": [...]} log file or one record; azure_activity: a {"records": [...]} batch or one ' +
            'record; gcp_logging: a LogEntry, an array of them, {"entries": [...]}, or a Pub/Sub push ' +
            'envelope. Each record becomes one raw event. 202 once every record is in the buffer; 503 ' +
            'with Retry-After when the buffer cannot take them (nothing of the batch was taken: resend it).',
          params: {
            type: 'object',
            properties: { source_type: { type: 'string', enum: [...cloudSourceTypes] } },
            required: ['source_type'],
          },
          response: {
            202: ingestResponse,
            400: errorSchema,
            401: errorSchema,
            403: errorSchema,
            413: errorSchema,
            415: errorSchema,
            429: errorSchema,
            503: errorSchema,
          },
        },
      },
      (request, reply) => this.#handle(request, reply),
    );
  }

  #refuse(
    reply: FastifyReply,
    metrics: CloudMetrics,
    sourceType: CloudSourceType,
    r: Refusal,
    retryAfter: number,
    close: boolean,
  ): FastifyReply {
    metrics.refused(sourceType, r.reason, r.records ?? 0);
    if (r.status === 503) reply.header('retry-after', String(retryAfter));
    if (close) reply.header('connection', 'close');
    return reply.code(r.status).send({ statusCode: r.status, code: r.code, message: r.message });
  }

  async #handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const receivedAtMs = Date.now();
    const sourceType = (request.params as { source_type: CloudSourceType }).source_type;
    const source = this.#target.active;
    const metrics = this.#target.metrics(source?.name);
    if (source === null || !source.running) {
      return this.#refuse(reply, metrics, sourceType, unavailable('stopped'), 5, false);
    }
    const o = source.options;
    if (source.paused)
      return this.#refuse(reply, metrics, sourceType, unavailable('paused'), o.retry_after_seconds, false);
    if (this.#inFlight >= o.max_concurrent_requests) {
      // refused before the body is read: the connection closes so the unread body cannot linger
      return this.#refuse(reply, metrics, sourceType, unavailable('busy'), o.retry_after_seconds, true);
    }
    this.#inFlight++;
    try {
      return await this.#take(request, reply, source, metrics, sourceType, receivedAtMs);
    } finally {
      this.#inFlight--;
    }
  }

  async #take(
    request: FastifyRequest,
    reply: FastifyReply,
    source: CloudHttpSource,
    metrics: CloudMetrics,
    sourceType: CloudSourceType,
    receivedAtMs: number,
  ): Promise<FastifyReply> {
    const o = source.options;
    try {
      const media = request.headers['content-type'];
      if (!acceptedMediaType(media)) {
        throw new CloudRequestError(
          415,
          'unsupported_media_type',
          `Content-Type ${media ?? '(none)'} is not accepted: send application/json (UTF-8)`,
        );
      }
      const encoding = encodingOf(request.headers['content-encoding']);
      if (encoding === null) {
        throw new CloudRequestError(
          415,
          'unsupported_encoding',
          `Content-Encoding ${request.headers['content-encoding']} is not accepted: send gzip or no encoding`,
        );
      }
      const declared = Number(request.headers['content-length']);
      if (declared > o.max_body_bytes) {
        const r = bodyTooLarge(`the body is ${declared} bytes; at most ${o.max_body_bytes}`);
        return this.#refuse(reply, metrics, sourceType, r, 0, true);
      }
      const read =
        request.body === undefined
          ? { body: Buffer.alloc(0) }
          : await readLimited(request.body as Readable, o.max_body_bytes);
      if ('tooLarge' in read) {
        const r = bodyTooLarge(`the body is over ${o.max_body_bytes} bytes`);
        return this.#refuse(reply, metrics, sourceType, r, 0, true);
      }
      const limits = {
        maxDecodedBytes: o.max_decoded_bytes,
        maxRecordBytes: o.max_record_bytes,
        maxRecords: o.max_records,
        maxDepth: o.max_json_depth,
      };
      const { body, records: scanned } = await decodeBody(read.body, encoding, batchKeys[sourceType], limits);
      const records = await parseRecords(sourceType, body, scanned, limits);
      return this.#offer(
        request,
        reply,
        source,
        metrics,
        sourceType,
        body,
        records,
        receivedAtMs,
        read.body.length,
      );
    } catch (err) {
      if (!(err instanceof CloudRequestError)) throw err;
      source.logBadRequest(err, normalizePeer(request.ip));
      return this.#refuse(reply, metrics, sourceType, bodyError(err), 0, false);
    }
  }

  async #offer(
    request: FastifyRequest,
    reply: FastifyReply,
    source: CloudHttpSource,
    metrics: CloudMetrics,
    sourceType: CloudSourceType,
    body: Buffer,
    records: CloudRecord[],
    receivedAtMs: number,
    wireBytes: number,
  ): Promise<FastifyReply> {
    const o = source.options;
    if (records.length === 0)
      return reply.code(202).send({ accepted: 0, events: 0, source_type: sourceType });
    const peer = normalizePeer(request.ip);
    const tenant = this.#host.tenantOf(request) ?? source.tenant;
    const encoder = new RawEventEncoder(
      {
        adapter: source.name,
        transport: request.protocol === 'https' ? 'https' : 'http',
        peerAddress: peer,
        peerPort: request.socket.remotePort ?? null,
        tls: null,
      },
      tenant,
    );
    const byTenant = source.keyBy === 'tenant';
    const out: BufferRecord[] = new Array(records.length);
    const turns = new LoopTurns(SLICE_BYTES);
    let rows = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      rows += r.rows;
      const payload = body.subarray(r.start, r.end);
      const turn = turns.spend(payload.length);
      if (turn !== null) await turn;
      out[i] = {
        key: byTenant ? tenant : (accountOf(sourceType, r.doc) ?? peer),
        value: encoder.encode({
          receivedAtMs,
          sourceType,
          syslog: null,
          marks: null,
          parseError: null,
          originalSize: payload.length,
          payload,
        }),
      };
    }
    if (!source.running || this.#target.active !== source) {
      const r = { ...unavailable('stopped'), records: records.length };
      return this.#refuse(reply, metrics, sourceType, r, o.retry_after_seconds, false);
    }
    // ack: durable answers 202 only once the records are on disk and synced
    const result = o.ack === 'durable' ? await source.offerDurable(out) : source.offer(out);
    if (result === 'rejected') {
      const why = source.rejectReason;
      return this.#refuse(
        reply,
        metrics,
        sourceType,
        {
          status: 503,
          code: why === 'closed' ? 'SIEM_ERR_BUFFER_CLOSED' : 'SIEM_ERR_BUFFER_FULL',
          reason:
            why === 'closed'
              ? 'buffer_closed'
              : why === 'full' || why === 'disk_full'
                ? 'buffer_full'
                : 'buffer_rejected',
          message: `the buffer cannot take the batch (${why}): nothing of it was taken, resend it later`,
          records: out.length,
        },
        o.retry_after_seconds,
        false,
      );
    }
    metrics.accepted(sourceType, out.length, rows, wireBytes);
    return reply.code(202).send({ accepted: rows, events: out.length, source_type: sourceType });
  }
}
