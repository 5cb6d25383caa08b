import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stackPaths, stackPorts } from './paths.js';
import { pidAlive, readPid, run, runOrThrow } from './proc.js';
import type { ServiceStatus, StackService } from './service.js';

/** Debian installs the server binaries per major version, off PATH. */
function findBinDir(): string {
  const fromEnv = process.env.SIEM_STACK_PG_BINDIR;
  if (fromEnv) return fromEnv;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(debian, versions[0], 'bin');
  }
  throw new Error(
    "PostgreSQL server binaries not found: install Debian's postgresql package (or set SIEM_STACK_PG_BINDIR)",
  );
}

// PostgreSQL refuses to run as root: as root, every server command runs as the postgres user.
const asRoot = process.getuid?.() === 0;

function cmd(binDir: string, bin: string, args: string[]): [string, string[]] {
  const program = join(binDir, bin);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
}

export interface PostgresInstanceOptions {
  name: string;
  port: number;
}

/**
 * The data folder lives under the stack folder. As root the postgres user must be able to reach it;
 * when a parent folder is closed to it (a checkout under a private home), the folder moves to the
 * temporary directory, named after the stack folder so each checkout keeps its own.
 */
async function resolveHome(name: string): Promise<string> {
  let dir = join(stackPaths.stackDir, name);
  mkdirSync(dir, { recursive: true });
  if (asRoot) {
    await runOrThrow('chown', ['postgres:postgres', dir]);
    const reachable = await run('runuser', ['-u', 'postgres', '--', 'test', '-w', dir]);
    if (reachable.code !== 0) {
      const tag = createHash('sha256').update(stackPaths.stackDir).digest('hex').slice(0, 12);
      dir = join(tmpdir(), `siem-stack-${name}-${tag}`);
      mkdirSync(dir, { recursive: true });
      await runOrThrow('chown', ['postgres:postgres', dir]);
    }
  }
  return dir;
}

async function answers(port: number, database = 'postgres'): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database,
    connectionTimeoutMillis: 2_000,
  });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
  });
  await client.connect();
  try {
    const exists = await client.query("select 1 from pg_database where datname = 'siem'");
    if (exists.rowCount === 0) await client.query('create database siem');
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL server initialised into the stack folder. `postgresService` is the stack's own; tests
 * that stop the database on purpose make an instance of their own on another port.
 */
export function createPostgresService(options: PostgresInstanceOptions): StackService {
  let homeDir: string | null = null;
  const home = async () => {
    homeDir ??= await resolveHome(options.name);
    return homeDir;
  };
  const { port } = options;
  return {
    name: options.name,
    address: `127.0.0.1:${port} (postgres://postgres@127.0.0.1:${port}/siem)`,

    async status(): Promise<ServiceStatus> {
      const dir = await home();
      const pid = readPid(join(dir, 'data', 'postmaster.pid'));
      const alive = pid !== null && pidAlive(pid);
      const ok = await answers(port);
      return { running: alive || ok, answers: ok, pid: alive ? pid : null };
    },

    async up(): Promise<boolean> {
      const dir = await home();
      const data = join(dir, 'data');
      if (await answers(port)) {
        // ours, or another server already on this port
        await ensureDatabase(port);
        return false;
      }
      const binDir = findBinDir();
      if (!existsSync(join(data, 'PG_VERSION'))) {
        const [c, a] = cmd(binDir, 'initdb', [
          '-D',
          data,
          '--auth=trust',
          '--username=postgres',
          '--encoding=UTF8',
          '--locale=C',
        ]);
        await runOrThrow(c, a);
      }
      const options = [
        `-p ${port}`,
        `-k ${dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c max_connections=200',
        '-c shared_buffers=256MB',
        '-c max_wal_size=2GB',
        '-c max_locks_per_transaction=256',
      ].join(' ');
      const [c, a] = cmd(binDir, 'pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'postgres.log'),
        '-w',
        '-t',
        '60',
        '-o',
        options,
        'start',
      ]);
      await runOrThrow(c, a);
      await ensureDatabase(port);
      return true;
    },

    async down(): Promise<boolean> {
      const dir = await home();
      const data = join(dir, 'data');
      const pid = readPid(join(data, 'postmaster.pid'));
      if (pid === null || !pidAlive(pid)) return false;
      const [c, a] = cmd(findBinDir(), 'pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      await runOrThrow(c, a);
      return true;
    },
  };
}

export const postgresService = createPostgresService({ name: 'postgres', port: stackPorts.postgres });
