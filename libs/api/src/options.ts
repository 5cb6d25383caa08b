import { Host, Port, Section, type Static, Type } from '@siem/config';

/** What a key may do. `ingest` is for intake endpoints other libraries register on this server. */
export const apiScopes = ['read', 'tail', 'admin', 'ingest'] as const;
export type ApiScope = (typeof apiScopes)[number];

/** `sha256:` + 64 lowercase hex digits: the SHA-256 of the whole token (see auth.ts for why SHA-256). */
export const API_KEY_HASH_PATTERN = '^sha256:[0-9a-f]{64}$';

export const apiKeySchema = Type.Object(
  {
    id: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      description: 'Name of the key (logs, rate limiting); never secret.',
    }),
    hash: Type.String({
      pattern: API_KEY_HASH_PATTERN,
      description:
        'sha256:<hex> of the token, as printed by `siem api-key`. The token itself is never stored.',
    }),
    scopes: Type.Array(Type.Union(apiScopes.map((s) => Type.Literal(s))), {
      minItems: 1,
      uniqueItems: true,
      description:
        'read (events, histogram, adapters, stats), tail (live tail), admin (adapter changes), ingest.',
    }),
    tenant: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      default: null,
      description: "Tenant the key is bound to: it only ever sees that tenant's events. null: every tenant.",
    }),
  },
  { additionalProperties: false },
);

export type ApiKeyEntry = Static<typeof apiKeySchema>;

export const apiOptionsSchema = Section(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve the control and query API.' }),
    host: Host('Address to listen on. Without API keys only loopback addresses are allowed.', '127.0.0.1'),
    port: Port('HTTP port of the API, health probes and metrics.', 8080),
    keys: Type.Array(apiKeySchema, {
      default: [],
      description:
        'API keys (bearer tokens), stored hashed: [{id, hash, scopes, tenant}]. Create one with `siem api-key`. ' +
        'With no key here nor in keys_file, the API answers loopback clients only.',
    }),
    keys_file: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      default: null,
      description:
        'YAML or JSON file holding more keys (a list, or {keys: [...]}), e.g. a mounted Kubernetes secret. ' +
        'Re-read when it changes.',
    }),
    keys_reload_seconds: Type.Integer({
      minimum: 0,
      default: 30,
      description: 'How often keys_file is checked for changes (0: read once at start-up).',
    }),
    allowed_origins: Type.Array(Type.String({ pattern: '^https?://[^/]+$' }), {
      default: [],
      description:
        'Keyless mode only: web origins (scheme://host[:port]) besides loopback ones whose pages may call the ' +
        'API. Keyless mode also answers loopback Host names only and needs an X-SIEM-Client header (or a JSON ' +
        'body) on POST/PUT/DELETE, so that a web page cannot drive it.',
    }),
    open_health: Type.Boolean({
      default: true,
      description: '/health/live and /health/ready answer without a key (Kubernetes probes send none).',
    }),
    open_metrics: Type.Boolean({
      default: true,
      description:
        '/metrics answers without a key; false requires a key with any scope not bound to a tenant.',
    }),
    open_docs: Type.Boolean({
      default: true,
      description: 'The OpenAPI document and its viewer (/docs) answer without a key.',
    }),
    tls: Section(
      {
        cert_file: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          default: null,
          description: 'PEM certificate (chain) of the API; with key_file, the API speaks HTTPS only.',
        }),
        key_file: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          default: null,
          description: 'PEM private key of cert_file.',
        }),
      },
      { description: 'Optional TLS for the API.' },
    ),
    body_limit_bytes: Type.Integer({
      minimum: 1024,
      default: 1_048_576,
      description: 'Largest request body accepted (routes may set their own).',
    }),
    rate_limit: Section(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Limit requests per key (per client address without one).',
        }),
        max: Type.Integer({
          minimum: 1,
          default: 600,
          description: 'Requests allowed per key in each window.',
        }),
        window_seconds: Type.Integer({ minimum: 1, default: 60, description: 'Length of the window.' }),
      },
      { description: 'Rate limiting (@fastify/rate-limit); answers 429 with Retry-After beyond it.' },
    ),
    query: Section(
      {
        default_limit: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 100,
          description: 'Events per page when the request gives no limit (limit is at most 1000).',
        }),
        timeout_ms: Type.Integer({
          minimum: 100,
          default: 15_000,
          description:
            'statement_timeout of an events query or histogram; a slower one answers 504. The embedded engine cannot ' +
            'cancel a statement: there the API reads in time slices (each at most 10,000 rows or 1 MiB of text) and ' +
            'enforces this between them.',
        }),
        count_limit: Type.Integer({
          minimum: 0,
          default: 10_000,
          description:
            'The first page carries an exact total when at most this many events match (0: never count).',
        }),
        count_timeout_ms: Type.Integer({
          minimum: 10,
          default: 1000,
          description: 'Time the first-page total may take; when counting would take longer, total is null.',
        }),
        max_page_bytes: Type.Integer({
          minimum: 65_536,
          default: 8_388_608,
          description:
            'An events page stops before the event that would take its JSON past this many bytes (besides the ' +
            'row limit) and says so (truncated: byte_budget, next continues after its last event). The first ' +
            'event of a page is always sent.',
        }),
        max_offset: Type.Integer({
          minimum: 1000,
          default: 100_000,
          description:
            'page × per_page may not exceed this (deeper offsets cost more with each page: walk them with the ' +
            'cursor); page-mode totals are counted up to it.',
        }),
        text_search_hours: Type.Integer({
          minimum: 1,
          default: 24,
          description:
            'A text search (q) without from covers the last this many hours (the answer says so in searched_from): ' +
            'matching text scans rows, so an open-ended one would read every stored event. Give from to reach further.',
        }),
        max_concurrent_per_key: Type.Integer({
          minimum: 1,
          default: 2,
          description:
            'Events queries and histograms one key (one client address without keys) may run at once; more answer ' +
            '429 with Retry-After, so that one reader cannot take every query connection from the others (keep it ' +
            'below storage.query_pool_size, 4 by default).',
        }),
        max_buckets: Type.Integer({
          minimum: 10,
          default: 10_000,
          description: 'Most buckets a histogram may have ((to - from) / interval).',
        }),
      },
      { description: 'Events query and histogram.' },
    ),
    tail: Section(
      {
        max_clients: Type.Integer({
          minimum: 0,
          default: 100,
          description: 'Live tail connections at once.',
        }),
        queue_events: Type.Integer({
          minimum: 1,
          default: 1000,
          description:
            'Events waiting for one tail client; beyond it events are dropped for that client and the count is sent to it.',
        }),
        batch_events: Type.Integer({
          minimum: 1,
          default: 200,
          description: 'Most events in one WebSocket message.',
        }),
        max_buffered_bytes: Type.Integer({
          minimum: 1024,
          default: 1_048_576,
          description:
            'Bytes written to a client socket and not yet taken by the kernel before sending pauses.',
        }),
      },
      { description: 'Live tail (WebSocket /api/v1/tail).' },
    ),
    stats: Section(
      {
        sample_ms: Type.Integer({
          minimum: 100,
          default: 1000,
          description:
            'How often /api/v1/stats samples the metrics registry (it keeps 15 minutes of samples).',
        }),
      },
      { description: 'Throughput and error rates (/api/v1/stats).' },
    ),
  },
  { description: 'Control and query API (fastify).' },
);

export type ApiOptions = Static<typeof apiOptionsSchema>;
