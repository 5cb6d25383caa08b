import { cloudAdapters } from '@siem/cloud';
import { type ConfigProblem, checkAgainst, type TObject, type TSchema, Type } from '@siem/config';
import type { AdapterFactory } from '@siem/core';
import { syslogAdapters } from '@siem/syslog';
import { windowsAdapters } from '@siem/windows';

/** Every adapter type this build knows: each package exports its own list, the runtime joins them. */
export const adapterFactories: readonly AdapterFactory[] = [
  ...syslogAdapters,
  ...windowsAdapters,
  ...cloudAdapters,
];

/** Adapter ids: label values, URL path segments and YAML keys alike. */
export const ADAPTER_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';

/** Types of which a process can run at most one instance (the cloud intake answers on the API server). */
const SINGLE_INSTANCE_TYPES = new Set(['cloud_http']);

function factoryOf(type: string): AdapterFactory | undefined {
  return adapterFactories.find((f) => f.type === type);
}

/**
 * The schema of a shorthand entry (`syslog_tcp: {port: …}`: the key is both id and type): the type's
 * own options, with `type:` allowed when it repeats the key.
 */
function shorthandSchema(factory: AdapterFactory): TSchema {
  const schema = factory.schema as TObject;
  return {
    ...schema,
    properties: {
      ...schema.properties,
      type: Type.Optional(Type.Literal(factory.type, { 'x-example-hidden': true })),
    },
  } as TSchema;
}

/**
 * The `adapters` section. Each key is an adapter id; an entry names its `type` and that type's options
 * (`fw_tcp: {type: syslog_tcp, port: 1514, tenant: fw}`). A key that is a type name is the shorthand of
 * today's files: an adapter of that type with that id, present (with its defaults) even when the file
 * does not name it. Entries under other ids are checked here for their `type` only; their options are
 * checked against the type's own schema by `resolveAdapterEntries`, which the loader runs next.
 */
export const adaptersSectionSchema = Type.Object(
  Object.fromEntries(adapterFactories.map((f) => [f.type, shorthandSchema(f)])),
  {
    default: {},
    propertyNames: { pattern: ADAPTER_ID_PATTERN },
    additionalProperties: Type.Object(
      {
        type: Type.Union(
          adapterFactories.map((f) => Type.Literal(f.type)),
          { description: 'The adapter type.' },
        ),
      },
      { additionalProperties: true },
    ),
    description: [
      'Adapters by id. Each key is an adapter id; `type` names its type, the other keys are options of that type:',
      '  fw-asa: { type: syslog_tcp, port: 1514, tenant: network }',
      `A key that is a type name (${adapterFactories.map((f) => f.type).join(', ')}) is an adapter of that`,
      'type with that id (no `type` needed): those always exist, with the defaults below. Each adapter starts',
      'when enabled. The control API, metrics (component_id) and status name adapters by id.',
    ].join('\n'),
  },
);

/** How the configuration named an adapter: by its type (shorthand) or by an id with a `type:`. */
export type AdapterForm = 'shorthand' | 'id';

export interface AdapterInstance {
  id: string;
  type: string;
  form: AdapterForm;
  /** The type's options, complete (defaults filled in), without `type`. */
  options: Readonly<Record<string, unknown>>;
}

function withoutType(entry: Record<string, unknown>): Record<string, unknown> {
  const { type: _type, ...options } = entry;
  return options;
}

/** The adapters of a loaded configuration: in the file's order, then the shorthand ones it does not name. */
export function adapterInstances(adapters: Readonly<Record<string, unknown>>): AdapterInstance[] {
  return Object.entries(adapters).map(([id, raw]) => {
    const entry = raw as Record<string, unknown>;
    const shorthand = factoryOf(id) !== undefined;
    return {
      id,
      type: shorthand ? id : String(entry.type),
      form: shorthand ? 'shorthand' : 'id',
      options: withoutType(entry),
    };
  });
}

/** Two enabled listeners on one address and port of one protocol cannot both start. */
function socketOf(type: string, options: Record<string, unknown>): string | null {
  if (type === 'cloud_http' || options.enabled !== true) return null;
  const port = options.port;
  if (typeof port !== 'number' || port === 0) return null;
  const protocol = type === 'syslog_udp' ? 'udp' : 'tcp';
  return `${protocol} ${String(options.host ?? '0.0.0.0')}:${port}`;
}

/**
 * Checks the entries given by id against their type's schema, filling their defaults in place (the
 * shorthand entries were checked with the section), and what no single entry shows: two enabled
 * adapters on one socket, two instances of a single-instance type. Returns every problem.
 */
export function resolveAdapterEntries(adapters: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [id, raw] of Object.entries(adapters)) {
    if (factoryOf(id) !== undefined) continue;
    const entry = raw as Record<string, unknown>;
    const factory = factoryOf(String(entry.type));
    if (factory === undefined) continue; // reported by the section schema
    const options = withoutType(entry);
    for (const p of checkAgainst(factory.schema as TSchema, options)) {
      problems.push({ ...p, path: `/adapters/${id}${p.path === '/' ? '' : p.path}` });
    }
    adapters[id] = { type: factory.type, ...options };
  }
  const sockets = new Map<string, string>();
  for (const a of adapterInstances(adapters)) {
    const socket = socketOf(a.type, a.options as Record<string, unknown>);
    if (socket !== null) {
      const other = sockets.get(socket);
      if (other !== undefined) {
        problems.push({
          path: `/adapters/${a.id}/port`,
          message: `${socket} is also the address of adapter ${other}: both are enabled`,
        });
      } else sockets.set(socket, a.id);
    }
    if (SINGLE_INSTANCE_TYPES.has(a.type) && a.form === 'id') {
      problems.push({
        path: `/adapters/${a.id}/type`,
        message: `one ${a.type} adapter per process: configure it as adapters.${a.type}`,
      });
    }
  }
  return problems;
}
