import type { AdapterFactory, Source, SourceContext } from '@siem/core';
import type { Static, TObject } from '@sinclair/typebox';
import { checkAgainst, invalidConfig } from './validate.js';

/**
 * Options as the configuration file, the control API or a test may give them: any key left out takes
 * its schema default (nested sections too).
 */
export type AdapterInput<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? AdapterInput<T[K]> : T[K];
};

export interface AdapterDefinition<S extends TObject> {
  /** The registered type name (`syslog_tcp`): the `type:` of an adapter in the configuration. */
  type: string;
  /** The options' schema; the configuration file and the control API validate against this one. */
  schema: S;
  /** Builds the source for adapter `id`; `options` are complete (defaults filled) and valid. */
  create(id: string, options: Static<S>, context: SourceContext): Source;
}

/**
 * An adapter type defined in one place: `create` is handed options that passed the type's own schema
 * with defaults filled in, so no adapter checks its options itself. Invalid options throw
 * SIEM_ERR_CONFIG_INVALID listing every problem, before anything is built.
 */
export function defineAdapter<S extends TObject>(
  definition: AdapterDefinition<S>,
): AdapterFactory<AdapterInput<Static<S>>> {
  const { type, schema, create } = definition;
  return Object.freeze({
    type,
    schema,
    create(id: string, options: AdapterInput<Static<S>>, context: SourceContext): Source {
      const copy = structuredClone(options ?? {}) as object;
      const problems = checkAgainst(schema, copy);
      if (problems.length > 0) throw invalidConfig(`options of adapter ${id} (${type})`, problems);
      return create(id, copy as Static<S>, context);
    },
  });
}
