import type { TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';

type Node = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, Node>;
  anyOf?: Node[];
  enum?: unknown[];
  const?: unknown;
  /** Accepted by the loader but left out of the example (an alternative spelling, not a setting). */
  'x-example-hidden'?: boolean;
};

function typeLabel(s: Node): string {
  if (s.anyOf) return s.anyOf.map(typeLabel).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  return Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
}

function scalar(value: unknown): string {
  // JSON is valid YAML flow style: arrays and maps stay on the key's line.
  return typeof value === 'string' ? stringify(value).trimEnd() : JSON.stringify(value);
}

function walk(s: Node, indent: string, out: string[]): void {
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    if (child['x-example-hidden'] === true) continue;
    if (child.description) for (const line of child.description.split('\n')) out.push(`${indent}# ${line}`);
    if (child.properties && Object.keys(child.properties).length > 0) {
      out.push(`${indent}${key}:`);
      walk(child, `${indent}  `, out);
    } else if (child.default !== undefined) {
      out.push(`${indent}${key}: ${scalar(child.default)}`);
    } else {
      out.push(`${indent}# ${key}: <${typeLabel(child)}> (no default)`);
    }
    out.push('');
  }
  if (out[out.length - 1] === '') out.pop();
}

/**
 * An example configuration generated from the schema: every key, its description as a comment and its
 * default as the value. Optional keys without a default are shown commented out with their type.
 */
export function exampleConfig(schema: TSchema, header: string): string {
  const out: string[] = header.split('\n').map((l) => `# ${l}`.trimEnd());
  out.push('');
  walk(schema as Node, '', out);
  return `${out.join('\n')}\n`;
}
