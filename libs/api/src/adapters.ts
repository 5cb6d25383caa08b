import { parseYamlMapping } from '@siem/config';
import { SiemError, type SourceStatus } from '@siem/core';
import type { FastifyInstance } from 'fastify';
import { adapterViewSchema, errorResponses, errorSchema } from './schemas.js';

/** An adapter as the control API shows it: its status and the options it runs with (secrets redacted). */
export interface AdapterStatusView extends SourceStatus {
  /** The adapter id (`name` holds the same). */
  id: string;
  options: Readonly<Record<string, unknown>>;
}

/**
 * What the control API needs of the adapters of a process. The runtime's AdapterRegistry satisfies it;
 * the API does not import the runtime (the runtime depends on the API). `name` is the adapter id; unknown ids throw SiemError
 * SIEM_ERR_ADAPTER_UNKNOWN (404); `reconfigure` validates against the adapter's own schema — the one the
 * configuration file uses — and throws SIEM_ERR_CONFIG_INVALID with `details` listing every problem,
 * leaving the running adapter untouched.
 */
export interface AdapterControl {
  list(): AdapterStatusView[];
  get(name: string): AdapterStatusView;
  start(name: string): Promise<AdapterStatusView>;
  stop(name: string): Promise<AdapterStatusView>;
  reconfigure(name: string, options: unknown): Promise<AdapterStatusView>;
  schemaOf(name: string): object;
}

const nameParams = {
  type: 'object',
  properties: {
    name: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
      description: 'Adapter id: its key under `adapters` in the configuration (syslog_tcp, fw_tcp, …).',
    },
  },
  required: ['name'],
  additionalProperties: false,
} as const;

const operational = { tenantKeys: false } as const;

export function registerAdapterRoutes(app: FastifyInstance, adapters: AdapterControl | null): void {
  const control = (name: string): AdapterControl => {
    if (adapters === null) {
      throw new SiemError('SIEM_ERR_ADAPTER_UNKNOWN', `no adapter named ${name}: this role runs no adapters`);
    }
    return adapters;
  };
  const tags = ['adapters'];

  app.get(
    '/api/v1/adapters',
    {
      config: { access: { scope: 'read', ...operational } },
      schema: {
        tags,
        summary: 'List the adapters: id (name), type, state, listen address, counters.',
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: adapterViewSchema } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ data: adapters?.list() ?? [] }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/adapters/:name',
    {
      config: { access: { scope: 'read', ...operational } },
      schema: {
        tags,
        summary: 'One adapter, by id.',
        params: nameParams,
        response: { 200: adapterViewSchema, 404: errorSchema, ...errorResponses },
      },
    },
    async (req) => control(req.params.name).get(req.params.name),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/adapters/:name/schema',
    {
      config: { access: { scope: 'read', ...operational } },
      schema: {
        tags,
        summary: "The JSON schema of the adapter's options (the configuration file uses the same one).",
        params: nameParams,
        response: {
          200: { type: 'object', additionalProperties: true },
          404: errorSchema,
          ...errorResponses,
        },
      },
    },
    async (req) => control(req.params.name).schemaOf(req.params.name),
  );

  for (const action of ['start', 'stop'] as const) {
    app.post<{ Params: { name: string } }>(
      `/api/v1/adapters/:name/${action}`,
      {
        config: { access: { scope: 'admin', ...operational } },
        schema: {
          tags,
          summary:
            action === 'start'
              ? 'Start an adapter (resolves once it listens).'
              : 'Stop an adapter (resolves once it has flushed).',
          params: nameParams,
          response: { 200: adapterViewSchema, 404: errorSchema, 409: errorSchema, ...errorResponses },
        },
      },
      async (req) => {
        const c = control(req.params.name);
        return action === 'start' ? c.start(req.params.name) : c.stop(req.params.name);
      },
    );
  }

  // The options as YAML (the console's YAML editor; `curl --data-binary @opts.yaml`) in a scope of their
  // own, so that no other route takes a YAML body. Parsed as the configuration file is, within the
  // API's body limit.
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      ['application/yaml', 'application/x-yaml', 'text/yaml'],
      { parseAs: 'string' },
      (req, body, done) => {
        try {
          done(
            null,
            parseYamlMapping(
              String(body),
              `the options of adapter ${(req.params as { name?: string }).name ?? ''}`,
            ),
          );
        } catch (err) {
          (err as Error & { statusCode?: number }).statusCode = 400;
          done(err as Error, undefined);
        }
      },
    );
    scope.put<{ Params: { name: string }; Body: Record<string, unknown> }>(
      '/api/v1/adapters/:name/config',
      {
        config: { access: { scope: 'admin', ...operational } },
        schema: {
          tags,
          summary:
            "Replace an adapter's options (JSON, or YAML with content-type application/yaml). Validated against the " +
            "adapter's schema (omitted keys take their defaults); a bad change answers 400 listing every problem and " +
            'leaves the adapter as it was. A running adapter restarts with the new options (and goes back to the old ' +
            'ones if they fail to start: 409).',
          params: nameParams,
          body: { type: 'object', additionalProperties: true },
          response: { 200: adapterViewSchema, 404: errorSchema, 409: errorSchema, ...errorResponses },
        },
      },
      async (req) => control(req.params.name).reconfigure(req.params.name, req.body),
    );
  });
}
