import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Bad arguments: the command prints one line and exits with code 2. */
export class UsageError extends Error {}

/** Something the command needs is not there (API down, brokers unreachable): one line, exit code 1. */
export class UnreachableError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs whose complaints become UsageErrors (one clear line) instead of stack traces. */
export function parseCommandArgs<const O extends Options>(
  argv: string[],
  options: O,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('\n')[0]! : String(err));
  }
}

/**
 * Runs a command body: a UsageError prints `siem <name>: <reason> (siem <name> --help)` and returns 2,
 * an UnreachableError prints its line and returns 1; anything else goes on to main's handler.
 */
export async function runCommand(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`siem ${name}: ${err.message} (see siem ${name} --help)\n`);
      return 2;
    }
    if (err instanceof UnreachableError) {
      process.stderr.write(`siem ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `1s`, `500ms`, `2` (seconds) → milliseconds; UsageError when it is none of these or out of range. */
export function parseDuration(text: string, option: string, minMs = 100, maxMs = 3_600_000): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`--${option} ${text}: expected a duration such as 1s or 500ms`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < minMs || ms > maxMs)
    throw new UsageError(`--${option} ${text}: must be between ${minMs} ms and ${maxMs / 1000} s`);
  return ms;
}

/** A positive integer option; UsageError otherwise. */
export function parseCount(text: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new UsageError(`--${option} ${text}: expected a whole number from 1 to ${max}`);
  return Number(text);
}
