import { SiemError } from '@siem/core';
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export interface ConfigProblem {
  /** JSON pointer of the offending key (`/adapters/syslog_udp/port`); `/` for the root. */
  path: string;
  message: string;
}

/** One Ajv instance for the process: schemas are compiled once and cached by identity. */
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, strict: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function describe(e: ErrorObject): ConfigProblem {
  const path = e.instancePath === '' ? '/' : e.instancePath;
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        path: `${e.instancePath}/${String(e.params.additionalProperty)}`,
        message: `unknown key "${String(e.params.additionalProperty)}"`,
      };
    case 'enum':
      return {
        path,
        message: `must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`,
      };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/**
 * Validates `value` in place (defaults are filled in) and returns every problem found. Union schemas
 * produce one error per branch; those are collapsed so a reader sees each path once.
 */
export function checkAgainst(schema: TSchema, value: unknown): ConfigProblem[] {
  const fn = compile(schema);
  if (fn(value)) return [];
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const e of fn.errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const p = describe(e);
    const key = `${p.path} ${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  }
  return problems;
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}

export function invalidConfig(what: string, problems: ConfigProblem[]): SiemError {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return new SiemError(
    'SIEM_ERR_CONFIG_INVALID',
    `${what} is invalid (${count}):\n${formatProblems(problems)}`,
    {
      details: problems,
    },
  );
}

/** Validates, fills defaults and throws one error listing every problem. */
export function validateOrThrow<T>(schema: TSchema, value: unknown, what = 'configuration'): T {
  const problems = checkAgainst(schema, value);
  if (problems.length > 0) throw invalidConfig(what, problems);
  return value as T;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
