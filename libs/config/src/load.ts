import { readFileSync } from 'node:fs';
import { SiemError } from '@siem/core';
import type { TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { type ConfigProblem, checkAgainst, deepFreeze, invalidConfig } from './validate.js';

/** Environment variables under the SIEM_ prefix that are not configuration keys. */
const NOT_CONFIG = /^SIEM_(CONFIG|STACK_.*|TEST_.*)$/;

export interface LoadOptions {
  /** YAML file; `SIEM_CONFIG` names it when this is absent. */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SiemError('SIEM_ERR_CONFIG_READ', `cannot read configuration file ${file}`, { cause });
  }
  try {
    return parseYaml(text) ?? {};
  } catch (cause) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_READ',
      `configuration file ${file} is not valid YAML: ${String(cause)}`,
      {
        cause,
      },
    );
  }
}

/** Aliases a YAML text sent over the API may use: a few, never a "billion laughs" expansion. */
const MAX_YAML_ALIASES = 50;

/**
 * A YAML text that must hold one mapping (an adapter's options sent as YAML): the mapping, or
 * SIEM_ERR_CONFIG_INVALID with the problem and its line, as the configuration file would report it.
 * An empty text is an empty mapping (every option takes its default).
 */
export function parseYamlMapping(text: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: MAX_YAML_ALIASES, prettyErrors: true }) ?? {};
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw invalidConfig(what, [{ path: '', message: `not valid YAML: ${message.split('\n')[0]}` }]);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalidConfig(what, [{ path: '', message: 'must be a YAML mapping of option: value' }]);
  }
  return doc as Record<string, unknown>;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
};

/** The schema of the key at `path`, or null when the schema has no such key. */
function schemaAt(schema: JsonSchema, path: readonly string[]): JsonSchema | null {
  let s: JsonSchema | undefined = schema;
  for (const key of path) {
    if (s === undefined) return null;
    const next: JsonSchema | undefined =
      s.properties?.[key] ??
      (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    s = next;
  }
  return s ?? null;
}

function typesOf(s: JsonSchema): string[] {
  if (s.anyOf) return s.anyOf.flatMap(typesOf);
  if (s.type === undefined) return [];
  return Array.isArray(s.type) ? s.type : [s.type];
}

/** Turns an environment string into the type the schema wants; leaves it a string when unsure. */
function coerce(s: JsonSchema, raw: string): unknown {
  const types = typesOf(s);
  if (types.includes('null') && (raw === '' || raw === 'null')) return null;
  if (
    (types.includes('integer') || types.includes('number')) &&
    raw.trim() !== '' &&
    !Number.isNaN(Number(raw))
  ) {
    return Number(raw);
  }
  if (types.includes('boolean') && /^(true|false|1|0|yes|no)$/i.test(raw)) return /^(true|1|yes)$/i.test(raw);
  if ((types.includes('array') || types.includes('object')) && !types.includes('string')) {
    try {
      return JSON.parse(raw);
    } catch {
      if (types.includes('array')) return raw.split(',').map((x) => x.trim());
    }
  }
  return raw;
}

/** Applies `SIEM_A__B_C=value` as `a.b_c: value`; returns the variables that name no key. */
export function applyEnvOverrides(
  schema: TSchema,
  doc: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('SIEM_') || NOT_CONFIG.test(name) || value === undefined) continue;
    const path = name.slice(5).toLowerCase().split('__');
    const target = schemaAt(schema as JsonSchema, path);
    if (target === null) {
      problems.push({ path: `env ${name}`, message: 'does not name a configuration key' });
      continue;
    }
    let node: Record<string, unknown> = doc;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = coerce(target, value);
  }
  return problems;
}

/**
 * Loads the configuration once: YAML file, then SIEM_* environment overrides, then validation against
 * the schema (defaults filled, unknown keys rejected, every problem listed in one error), then frozen.
 * `refine` checks what one schema cannot (entries whose schema depends on a value in them) and may
 * fill defaults in place; it runs only on a document that passed the schema.
 */
export function loadConfig<T>(
  schema: TSchema,
  options: LoadOptions = {},
  refine?: (doc: Record<string, unknown>) => ConfigProblem[],
): T {
  const env = options.env ?? process.env;
  const file = options.file ?? env.SIEM_CONFIG ?? null;
  const raw = file === null ? {} : readConfigFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `configuration ${file ?? ''} must be a mapping at the top level`,
    );
  }
  const doc = structuredClone(raw) as Record<string, unknown>;
  const problems = [...applyEnvOverrides(schema, doc, env), ...checkAgainst(schema, doc)];
  if (problems.length === 0 && refine !== undefined) problems.push(...refine(doc));
  if (problems.length > 0)
    throw invalidConfig(file === null ? 'configuration' : `configuration ${file}`, problems);
  return deepFreeze(doc as T);
}
