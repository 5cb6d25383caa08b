import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package-lock.json'))) {
    const up = dirname(dir);
    if (up === dir)
      throw new Error('cannot find the repository root (no package-lock.json above the stack scripts)');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRepoRoot();

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number.parseInt(v, 10);
}

/**
 * The cache of downloads and builds (Kafka jars, helm, unpacked Debian packages): per user, outside the
 * checkout, so every clone on the machine re-uses it. `SIEM_STACK_CACHE_DIR` (relative to the checkout)
 * moves it; else `$XDG_CACHE_HOME/siem-gateway` (a relative XDG_CACHE_HOME is ignored, as the XDG spec
 * says), else `~/.cache/siem-gateway`. deploy/local/bootstrap.mjs finds it the same way (a test keeps
 * the two in step).
 */
function cacheDir(): string {
  const own = process.env.SIEM_STACK_CACHE_DIR;
  if (own !== undefined && own !== '') return resolve(repoRoot, own);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'siem-gateway');
}

/**
 * Where the local stack lives and listens. Ports are the project's own (29xxx: below Linux's ephemeral
 * range 32768–60999, so no outgoing connection can be holding one), so the stack never
 * collides with a Kafka or PostgreSQL already running on the machine; all can be moved by environment.
 */
export const stackPaths = {
  /** Data, logs and pid files of the running services. */
  stackDir: resolve(repoRoot, process.env.SIEM_STACK_DIR ?? '.stack'),
  /** Downloaded and built artefacts re-used across runs and checkouts. */
  cacheDir: cacheDir(),
};

export const stackPorts = {
  kafka: envInt('SIEM_STACK_KAFKA_PORT', 29092),
  kafkaController: envInt('SIEM_STACK_KAFKA_CONTROLLER_PORT', 29093),
  postgres: envInt('SIEM_STACK_POSTGRES_PORT', 29432),
  timescale: envInt('SIEM_STACK_TIMESCALE_PORT', 29433),
};

export const KAFKA_VERSION = '4.1.1';

/** Connection strings of the stack, as tests and configs use them. */
export const stackUrls = {
  kafkaBrokers: `127.0.0.1:${stackPorts.kafka}`,
  postgres: `postgres://postgres@127.0.0.1:${stackPorts.postgres}/siem`,
  timescale: `postgres://postgres@127.0.0.1:${stackPorts.timescale}/postgres`,
};
