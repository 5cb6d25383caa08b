import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { errorSchema, routeAccess } from '@siem/api';
import { checkAgainst } from '@siem/config';
import {
  type AdapterFactory,
  type BufferRecord,
  type ComponentState,
  type ErrorCode,
  type Intake,
  type LoggerLike,
  RawEventEncoder,
  SiemError,
  type Source,
  type SourceContext,
  type SourceStatus,
} from '@siem/core';
import { type Logger, RateLimitedLog } from '@siem/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CloudMetrics } from './metrics.js';
import {
  type CloudHttpOptions,
  type CloudSourceType,
  cloudHttpOptionsSchema,
  cloudSourceTypes,
} from './options.js';
import { accountOf, type CloudRefusal, CloudRequestError, splitRecords } from './records.js';

const gunzipAsync = promisify(gunzip) as (
  buf: Buffer,
  options: { maxOutputLength: number },
) => Promise<Buffer>;

/** The intake route on the API server. */
export const INGEST_ROUTE = '/api/v1/ingest/:source_type';

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function normalizePeer(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** `application/json`, `application/<x>+json`, with no charset or UTF-8. */
function acceptedMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return charset === undefined || /^charset="?utf-8"?$/.test(charset);
}

type Encoding = 'identity' | 'gzip';

function encodingOf(header: string | undefined): Encoding | null {
  const e = (header ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return 'identity';
  if (e === 'gzip' || e === 'x-gzip') return 'gzip';
  return null;
}

/** Reads a body up to `limit` bytes; past it stops listening (the rest is discarded) and says so. */
function readLimited(stream: Readable, limit: number): Promise<{ body: Buffer } | { tooLarge: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      n += c.length;
      if (n > limit) {
        cleanup();
        resolve({ tooLarge: n });
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve({ body: Buffer.concat(chunks, n) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
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

const ingestResponse = {
  type: 'object',
  properties: {
    accepted: { type: 'integer', description: 'Records taken into the buffer (one raw event each).' },
    source_type: { type: 'string' },
  },
  required: ['accepted', 'source_type'],
} as const;

/**
 * The cloud intake of a process: the `cloud_http` adapter type and the route plugin the API server
 * registers, joined here. The route exists for the life of the API server; the adapter (started and
 * stopped by the AdapterRegistry like any other) decides whether it takes batches: stopped, the route
 * answers 503 with Retry-After. One instance per process (`cloudHttp`); tests make their own.
 */
export class CloudHttpIntake {
  #active: CloudHttpSource | null = null;
  #app: FastifyInstance | null = null;
  #metrics: CloudMetrics | null = null;

  /** The adapter type: register it with the other adapter factories. */
  readonly adapter: AdapterFactory<Partial<CloudHttpOptions>> = {
    type: 'cloud_http',
    schema: cloudHttpOptionsSchema,
    create: (name, options, context) => new CloudHttpSource(this, name, resolveOptions(options), context),
  };

  /** The route plugin: hand it to the API server before it listens (`serveApi` deps.plugins). */
  readonly plugin = async (app: FastifyInstance): Promise<void> => {
    if (this.#app !== null) throw new Error('the cloud intake route is already registered on an API server');
    this.#app = app;
    app.addHook('onClose', async () => {
      if (this.#app === app) this.#app = null;
    });
    await app.register(async (scope) => {
      // The body is read by the handler itself: its own size limits (not the API's body_limit_bytes),
      // gzip, and each record's bytes as sent.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
      scope.post(
        INGEST_ROUTE,
        {
          config: routeAccess('ingest'),
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
    });
  };

  /** The metrics, named after the adapter (shared by its successive instances). */
  metrics(name = 'cloud_http'): CloudMetrics {
    if (this.#metrics === null || this.#metrics.adapter !== name) this.#metrics = new CloudMetrics(name);
    return this.#metrics;
  }

  /** Where the route answers: `http(s)://host:port/api/v1/ingest/{source_type}`, or null. */
  listenUrl(): string | null {
    const app = this.#app;
    const address = app?.server.listening ? app.server.address() : null;
    if (app === null || address === null || typeof address !== 'object') return null;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const scheme = app.server instanceof TlsServer ? 'https' : 'http';
    return `${scheme}://${host}:${address.port}/api/v1/ingest/{source_type}`;
  }

  get routeRegistered(): boolean {
    return this.#app !== null;
  }

  /** @internal the adapter's start and stop */
  attach(source: CloudHttpSource): void {
    if (this.#active !== null && this.#active !== source) {
      throw new SiemError(
        'SIEM_ERR_ADAPTER_STATE',
        `${this.#active.name} already serves the cloud intake route`,
      );
    }
    this.#active = source;
  }

  /** @internal */
  detach(source: CloudHttpSource): void {
    if (this.#active === source) this.#active = null;
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
    const source = this.#active;
    const metrics = this.metrics(source?.name);
    if (source === null || !source.running) {
      return this.#refuse(
        reply,
        metrics,
        sourceType,
        {
          status: 503,
          code: 'SIEM_ERR_UNAVAILABLE',
          reason: 'stopped',
          message: 'the cloud_http adapter is stopped: start it (control API) or retry later',
        },
        5,
        false,
      );
    }
    const o = source.options;
    if (source.paused) {
      return this.#refuse(
        reply,
        metrics,
        sourceType,
        {
          status: 503,
          code: 'SIEM_ERR_BUFFER_FULL',
          reason: 'paused',
          message: 'the buffer asked intake to pause: retry later',
        },
        o.retry_after_seconds,
        false,
      );
    }
    let wireBytes = 0;
    let body: Buffer;
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
        return this.#refuse(
          reply,
          metrics,
          sourceType,
          bodyError(
            new CloudRequestError(
              413,
              'body_too_large',
              `the body is ${declared} bytes; at most ${o.max_body_bytes} (cloud_http.max_body_bytes): split the batch`,
            ),
          ),
          0,
          true,
        );
      }
      const read =
        request.body === undefined
          ? { body: Buffer.alloc(0) }
          : await readLimited(request.body as Readable, o.max_body_bytes);
      if ('tooLarge' in read) {
        return this.#refuse(
          reply,
          metrics,
          sourceType,
          bodyError(
            new CloudRequestError(
              413,
              'body_too_large',
              `the body is over ${o.max_body_bytes} bytes (cloud_http.max_body_bytes): split the batch`,
            ),
          ),
          0,
          true,
        );
      }
      wireBytes = read.body.length;
      body = read.body;
      if (encoding === 'gzip' && body.length > 0) {
        try {
          body = await gunzipAsync(body, { maxOutputLength: o.max_decoded_bytes });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
            throw new CloudRequestError(
              413,
              'decoded_too_large',
              `the body inflates to more than ${o.max_decoded_bytes} bytes (cloud_http.max_decoded_bytes): split the batch`,
            );
          }
          throw new CloudRequestError(
            400,
            'bad_gzip',
            `Content-Encoding is gzip but the body does not gunzip: ${(err as Error).message}`,
          );
        }
      } else if (body.length > o.max_decoded_bytes) {
        throw new CloudRequestError(
          413,
          'decoded_too_large',
          `the body is over ${o.max_decoded_bytes} bytes (cloud_http.max_decoded_bytes): split the batch`,
        );
      }
      if (body.subarray(0, 3).equals(UTF8_BOM)) body = body.subarray(3);
      if (body.length === 0)
        throw new CloudRequestError(400, 'empty_body', 'the body is empty: send a JSON batch');
      if (!isUtf8(body))
        throw new CloudRequestError(400, 'invalid_utf8', 'the body is not UTF-8 (JSON must be)');
      let doc: unknown;
      try {
        doc = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new CloudRequestError(
          400,
          'invalid_json',
          `the body is not valid JSON: ${(err as Error).message}`,
        );
      }
      const records = splitRecords(sourceType, body, doc, {
        maxRecordBytes: o.max_record_bytes,
        maxRecords: o.max_records,
      });
      return this.#offer(request, reply, source, metrics, sourceType, body, records, receivedAtMs, wireBytes);
    } catch (err) {
      if (!(err instanceof CloudRequestError)) throw err;
      source.logBadRequest(err, normalizePeer(request.ip));
      return this.#refuse(reply, metrics, sourceType, bodyError(err), 0, false);
    }
  }

  #offer(
    request: FastifyRequest,
    reply: FastifyReply,
    source: CloudHttpSource,
    metrics: CloudMetrics,
    sourceType: CloudSourceType,
    body: Buffer,
    records: ReturnType<typeof splitRecords>,
    receivedAtMs: number,
    wireBytes: number,
  ): FastifyReply {
    const o = source.options;
    if (!source.running || this.#active !== source) {
      return this.#refuse(
        reply,
        metrics,
        sourceType,
        {
          status: 503,
          code: 'SIEM_ERR_UNAVAILABLE',
          reason: 'stopped',
          message: 'the cloud_http adapter stopped while the body was read: retry later',
          records: records.length,
        },
        o.retry_after_seconds,
        false,
      );
    }
    if (records.length === 0) return reply.code(202).send({ accepted: 0, source_type: sourceType });
    const peer = normalizePeer(request.ip);
    const tenant = request.principal?.tenant ?? source.tenant;
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
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const payload = body.subarray(r.start, r.end);
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
    const result = source.offer(out);
    if (result === 'rejected') {
      const why = source.rejectReason;
      return this.#refuse(
        reply,
        metrics,
        sourceType,
        {
          status: 503,
          code: why === 'closed' ? 'SIEM_ERR_BUFFER_CLOSED' : 'SIEM_ERR_BUFFER_FULL',
          reason: why === 'closed' ? 'buffer_closed' : why === 'full' ? 'buffer_full' : 'buffer_rejected',
          message: `the buffer cannot take the batch (${why}): nothing of it was taken, resend it later`,
          records: out.length,
        },
        o.retry_after_seconds,
        false,
      );
    }
    metrics.accepted(sourceType, out.length, wireBytes);
    return reply.code(202).send({ accepted: out.length, source_type: sourceType });
  }
}

/** Validates options against the schema, filling defaults (a partial object from the API or a test). */
function resolveOptions(options: unknown): CloudHttpOptions {
  const copy = structuredClone(options ?? {}) as object;
  const problems = checkAgainst(cloudHttpOptionsSchema, copy);
  if (problems.length > 0) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `cloud_http options: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { details: problems },
    );
  }
  return copy as CloudHttpOptions;
}

/**
 * The `cloud_http` adapter: a Source whose start and stop open and close the intake route to batches
 * (the route itself lives on the API server), with the intake's counters in its status. A batch is
 * offered to the intake whole — all of its records or none — and answered 202 only once taken ('ok' or
 * 'pause'); after a 'pause' the route answers 503 with Retry-After until the intake resumes (HTTP's way
 * of not reading), and a 'rejected' batch is answered 503 with Retry-After, counted, nothing of it taken.
 */
export class CloudHttpSource implements Source {
  readonly name: string;
  readonly type = 'cloud_http';
  readonly options: CloudHttpOptions;
  readonly tenant: string;
  readonly keyBy: 'host' | 'tenant';
  readonly #hub: CloudHttpIntake;
  readonly #intake: Intake;
  readonly #logger: LoggerLike;
  readonly #log: RateLimitedLog;
  readonly #metrics: CloudMetrics;
  #state: ComponentState = 'stopped';
  #paused = false;
  #pausedAt = 0;
  #unsubscribeResume: (() => void) | null = null;

  constructor(hub: CloudHttpIntake, name: string, options: CloudHttpOptions, context: SourceContext) {
    this.#hub = hub;
    this.name = name;
    this.options = options;
    this.tenant = options.tenant ?? context.tenant;
    this.keyBy = context.keyBy;
    this.#intake = context.intake;
    this.#logger = context.logger.child({ adapter: name, type: this.type });
    this.#log = new RateLimitedLog(this.#logger as unknown as Logger);
    this.#metrics = hub.metrics(name);
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  get paused(): boolean {
    return this.#paused;
  }

  get rejectReason(): string {
    return this.#intake.rejectReason || 'rejected';
  }

  async start(): Promise<void> {
    if (this.#state === 'running') {
      throw new SiemError(
        'SIEM_ERR_ADAPTER_STATE',
        `${this.name} is running; it can only start when stopped`,
      );
    }
    this.#hub.attach(this);
    this.#state = 'running';
    if (!this.#hub.routeRegistered) {
      this.#logger.warn(
        {},
        'cloud_http started but its route is not (yet) on an API server: batches arrive once the API serves it',
      );
    }
    this.#logger.info({ listen: this.#hub.listenUrl() }, 'cloud intake open');
  }

  async stop(): Promise<void> {
    this.#hub.detach(this);
    if (this.#paused) {
      this.#metrics.paused(Date.now() - this.#pausedAt);
      this.#paused = false;
    }
    this.#unsubscribeResume?.();
    this.#unsubscribeResume = null;
    this.#state = 'stopped';
    this.#logger.info({}, 'cloud intake closed');
  }

  status(): SourceStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.#state,
      listen: this.#state === 'running' ? this.#hub.listenUrl() : null,
      counters: this.#metrics.snapshot(),
    };
  }

  /** @internal offers a request's records; a 'pause' closes the route to batches until resume. */
  offer(records: BufferRecord[]): 'ok' | 'pause' | 'rejected' {
    const r = this.#intake.offer(records);
    if (r === 'rejected') {
      this.#log.warn(
        `rejected:${this.rejectReason}`,
        { reason: this.rejectReason, records: records.length },
        'buffer rejected a cloud batch: answered 503, the sender resends',
      );
    } else if (r === 'pause' && !this.#paused) {
      this.#paused = true;
      this.#pausedAt = Date.now();
      this.#logger.info({}, 'buffer asked to pause: cloud batches answered 503 until it resumes');
      this.#unsubscribeResume = this.#intake.onResume(() => {
        if (!this.#paused) return;
        this.#paused = false;
        this.#metrics.paused(Date.now() - this.#pausedAt);
        this.#unsubscribeResume?.();
        this.#unsubscribeResume = null;
        this.#logger.info({}, 'buffer resumed: cloud batches accepted again');
      });
    }
    return r;
  }

  /** @internal */
  logBadRequest(err: CloudRequestError, peer: string): void {
    this.#log.info(
      `refused:${err.reason}`,
      { peer, reason: err.reason, err: err.message },
      'cloud batch refused',
    );
  }
}

/** The process's cloud intake: `cloudHttp.adapter` goes with the adapter factories, `cloudHttp.plugin` to the API. */
export const cloudHttp = new CloudHttpIntake();
export const cloudHttpAdapter = cloudHttp.adapter;
export const cloudIngestRoutes = cloudHttp.plugin;
