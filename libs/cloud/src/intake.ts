import { Server as TlsServer } from 'node:tls';
import { defineAdapter } from '@siem/config';
import { SiemError } from '@siem/core';
import type { FastifyInstance } from 'fastify';
import { CloudMetrics } from './metrics.js';
import { cloudHttpOptionsSchema } from './options.js';
import { IngestRoute, type IngestRouteHost, type IngestTarget } from './routes.js';
import { CloudHttpSource } from './source.js';

/**
 * The cloud intake of a process: the `cloud_http` adapter type and the route plugin the API server
 * registers, joined here. The route (routes.ts) exists for the life of the API server; the adapter
 * (source.ts, started and stopped by the AdapterRegistry like any other) decides whether it takes
 * batches: stopped, the route answers 503 with Retry-After. One instance per process (`cloudHttp`);
 * tests make their own.
 */
export class CloudHttpIntake implements IngestTarget {
  #active: CloudHttpSource | null = null;
  #app: FastifyInstance | null = null;
  #metrics: CloudMetrics | null = null;

  /** The adapter type: register it with the other adapter factories. */
  readonly adapter = defineAdapter({
    type: 'cloud_http',
    schema: cloudHttpOptionsSchema,
    create: (id, options, context) => new CloudHttpSource(this, id, options, context),
  });

  /**
   * The route plugin: whoever starts the API server calls it before the server listens, with what the
   * API hands its route plugins (access check, error schema, the key's tenant; `serveApi` deps.plugins).
   */
  readonly plugin = async (app: FastifyInstance, host: IngestRouteHost): Promise<void> => {
    if (this.#app !== null) throw new Error('the cloud intake route is already registered on an API server');
    this.#app = app;
    app.addHook('onClose', async () => {
      if (this.#app === app) this.#app = null;
    });
    const route = new IngestRoute(this, host);
    await app.register(async (scope) => route.register(scope));
  };

  /** The started adapter the route hands batches to, or null. */
  get active(): CloudHttpSource | null {
    return this.#active;
  }

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
}

/** The process's cloud intake: `cloudHttp.adapter` goes with the adapter factories, `cloudHttp.plugin` to the API. */
export const cloudHttp = new CloudHttpIntake();
export const cloudHttpAdapter = cloudHttp.adapter;
/** Every adapter type of this package, for the runtime's list. */
export const cloudAdapters = [cloudHttpAdapter] as const;
export const cloudIngestRoutes = cloudHttp.plugin;
