import { checkAgainst, deepFreeze, invalidConfig, redactedPlaceholders, redactSecrets } from '@siem/config';
import {
  type AdapterFactory,
  type LoggerLike,
  SiemError,
  type Source,
  type SourceContext,
  type SourceStatus,
} from '@siem/core';
import type { TSchema } from '@sinclair/typebox';

interface Entry {
  id: string;
  factory: AdapterFactory;
  options: Readonly<Record<string, unknown>>;
  source: Source | null;
}

export interface AdapterView extends SourceStatus {
  /** The adapter id (`name` holds the same). */
  id: string;
  /** The options the adapter runs with (or will start with). */
  options: Readonly<Record<string, unknown>>;
}

/**
 * A `type` in new options may repeat the adapter's type (options copied from the configuration file's
 * id form); it is taken out, and a different type is refused: an id keeps its type.
 */
function typeProblems(type: string, candidate: unknown): { path: string; message: string }[] {
  if (typeof candidate !== 'object' || candidate === null || !('type' in candidate)) return [];
  const given = (candidate as { type?: unknown }).type;
  delete (candidate as { type?: unknown }).type;
  return given === type ? [] : [{ path: '/type', message: `must be ${type}: an adapter keeps its type` }];
}

/**
 * The adapters of a process, by id (`syslog_tcp`, `fw_tcp`, …: any number of instances of a type). The
 * control API lists, starts, stops and reconfigures them here. A reconfiguration is
 * validated against the adapter's own schema — the one the configuration file uses — and a rejected
 * change leaves the running adapter untouched; an accepted change restarts the adapter with the new
 * options, and if that start fails the old options are put back.
 */
export class AdapterRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #context: (id: string, options: Readonly<Record<string, unknown>>) => SourceContext;
  readonly #logger: LoggerLike;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    context: (id: string, options: Readonly<Record<string, unknown>>) => SourceContext,
    logger: LoggerLike,
  ) {
    this.#context = context;
    this.#logger = logger.child({ component: 'adapters' });
  }

  /** Registers adapter `id` of a type with its (already validated) options from the configuration file. */
  register(id: string, factory: AdapterFactory, options: Readonly<Record<string, unknown>>): void {
    if (this.#entries.has(id)) throw new Error(`adapter ${id} registered twice`);
    this.#entries.set(id, { id, factory, options, source: null });
  }

  /** The adapter ids, in registration order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  schemaOf(name: string): TSchema {
    return this.#entry(name).factory.schema as TSchema;
  }

  list(): AdapterView[] {
    return this.names().map((n) => this.get(n));
  }

  get(name: string): AdapterView {
    const e = this.#entry(name);
    const status: SourceStatus = e.source?.status() ?? {
      name,
      type: e.factory.type,
      state: 'stopped',
      listen: null,
      counters: {},
    };
    return { ...status, id: name, name, options: redactSecrets(e.options) };
  }

  /** Starts every adapter whose options say `enabled: true`. */
  startEnabled(): Promise<void> {
    return this.#serial(async () => {
      for (const [name, e] of this.#entries) if (e.options.enabled === true) await this.#start(name, e);
    });
  }

  start(name: string): Promise<AdapterView> {
    return this.#serial(async () => {
      await this.#start(name, this.#entry(name));
      return this.get(name);
    });
  }

  stop(name: string): Promise<AdapterView> {
    return this.#serial(async () => {
      await this.#stop(this.#entry(name));
      return this.get(name);
    });
  }

  /**
   * Validates `options` (defaults filled in, unknown keys rejected, every problem listed) and applies
   * them. Throws SIEM_ERR_CONFIG_INVALID without touching the adapter when they are invalid.
   */
  reconfigure(name: string, options: unknown): Promise<AdapterView> {
    return this.#serial(async () => {
      const e = this.#entry(name);
      const candidate = structuredClone(options ?? {});
      const problems = typeProblems(e.factory.type, candidate);
      problems.push(...checkAgainst(e.factory.schema as TSchema, candidate));
      // options read back (secrets shown as ***) and sent again must not overwrite the real secret
      problems.push(...redactedPlaceholders(candidate));
      if (problems.length > 0) throw invalidConfig(`options of adapter ${name}`, problems);
      const next = deepFreeze(candidate as Record<string, unknown>);
      const wasRunning = e.source !== null;
      const previous = e.options;
      await this.#stop(e);
      e.options = next;
      if (wasRunning) {
        try {
          await this.#start(name, e);
        } catch (err) {
          this.#logger.error(
            { adapter: name, err },
            'new options failed to start; previous options restored',
          );
          e.options = previous;
          await this.#start(name, e);
          throw err;
        }
      }
      this.#logger.info({ adapter: name, running: wasRunning }, 'adapter reconfigured');
      return this.get(name);
    });
  }

  stopAll(): Promise<void> {
    return this.#serial(async () => {
      for (const e of [...this.#entries.values()].reverse()) await this.#stop(e);
    });
  }

  #entry(name: string): Entry {
    const e = this.#entries.get(name);
    if (e === undefined) {
      throw new SiemError('SIEM_ERR_ADAPTER_UNKNOWN', `no adapter with id ${name}`, {
        details: { known: this.names() },
      });
    }
    return e;
  }

  async #start(name: string, e: Entry): Promise<void> {
    if (e.source !== null) return;
    const source = e.factory.create(name, e.options, this.#context(name, e.options));
    await source.start();
    e.source = source;
    const { listen } = source.status();
    this.#logger.info({ adapter: name, listen }, 'adapter listening');
  }

  async #stop(e: Entry): Promise<void> {
    const source = e.source;
    if (source === null) return;
    e.source = null;
    await source.stop();
    this.#logger.info({ adapter: source.name }, 'adapter stopped');
  }

  /** One control operation at a time: a start racing a reconfigure must not run two listeners. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
