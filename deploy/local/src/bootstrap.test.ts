/**
 * The bootstrap (deploy/local/bootstrap.mjs) on throw-away copies: it finds each missing piece, does the
 * work (a real `npm ci` of a small workspace project, nothing to download) and finds nothing to do on a
 * second run. Installing Debian packages and fetching the stack's downloads are only planned here: the
 * real tree's run is bootstrap.integration.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaJarsStamp } from './kafka.js';
import { loggenStamp } from './loggen.js';
import { repoRoot, stackPaths } from './paths.js';
import { helmBinary } from './tools.js';

const bootstrapDir = fileURLToPath(new URL('..', import.meta.url));

interface PlanRow {
  name: string;
  state: 'ok' | 'needed' | 'after';
  detail: string;
  commands: string[][];
}
interface Plan {
  profile: string;
  root: string;
  cacheDir: string;
  steps: PlanRow[];
}

const temps: string[] = [];
function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** The bootstrap's files copied into `root`, laid out as in the repository. */
function copyBootstrap(root: string): string {
  const dir = join(root, 'deploy', 'local');
  mkdirSync(dir, { recursive: true });
  cpSync(join(bootstrapDir, 'bootstrap.mjs'), join(dir, 'bootstrap.mjs'));
  cpSync(join(bootstrapDir, 'bootstrap'), join(dir, 'bootstrap'), { recursive: true });
  return join(dir, 'bootstrap.mjs');
}

function bootstrap(script: string, args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function plan(script: string, profile: string, env: Record<string, string | undefined> = {}): Plan {
  const r = bootstrap(script, [profile, '--plan', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

function step(p: Plan, name: string): PlanRow {
  const row = p.steps.find((s) => s.name === name);
  if (row === undefined) throw new Error(`no step ${name} in ${JSON.stringify(p.steps)}`);
  return row;
}

const realScript = join(bootstrapDir, 'bootstrap.mjs');

describe('bootstrap: what it checks', () => {
  it('finds the cache where the stack scripts do, and the variable moves it', () => {
    expect(plan(realScript, 'start').cacheDir).toBe(stackPaths.cacheDir);
    expect(plan(realScript, 'start', { SIEM_STACK_CACHE_DIR: 'some/where' }).cacheDir).toBe(
      join(repoRoot, 'some/where'),
    );
    const env = { SIEM_STACK_CACHE_DIR: '', XDG_CACHE_HOME: '/x/cache' };
    expect(plan(realScript, 'start', env).cacheDir).toBe('/x/cache/siem-gateway');
    // a relative XDG_CACHE_HOME is invalid and ignored
    expect(plan(realScript, 'start', { ...env, XDG_CACHE_HOME: 'rel', HOME: '/h' }).cacheDir).toBe(
      '/h/.cache/siem-gateway',
    );
  });

  it('names a Debian package that is not installed, and the commands that would install it', () => {
    const p = plan(realScript, 'start', { SIEM_BOOTSTRAP_EXTRA_PACKAGES: 'siem-no-such-package' });
    const debian = step(p, 'Debian packages');
    expect(debian.state).toBe('needed');
    expect(debian.detail).toBe('not installed: siem-no-such-package');
    expect(debian.commands.at(-1)).toEqual(
      expect.arrayContaining(['apt-get', 'install', 'siem-no-such-package']),
    );
    expect(debian.commands[0]).toEqual(expect.arrayContaining(['apt-get', 'update']));
  });

  it('finds each missing download of the test profile in the cache, and none for start', () => {
    const cache = temp('siem-bootstrap-cache-');
    // The files the stack scripts write, at the same places under another cache folder.
    const stamps = [kafkaJarsStamp, helmBinary, loggenStamp].map((f) => relative(stackPaths.cacheDir, f));
    const downloads = () =>
      step(plan(realScript, 'test', { SIEM_STACK_CACHE_DIR: cache }), 'stack downloads');
    expect(downloads().detail).toBe(`not in ${cache}: Kafka 4.1.1 jars, helm, syslog-ng's loggen`);
    expect(downloads().commands.at(-1)!.slice(-4)).toEqual(['fetch', 'kafka-jars', 'helm', 'loggen']);
    expect(step(plan(realScript, 'start', { SIEM_STACK_CACHE_DIR: cache }), 'stack downloads').state).toBe(
      'ok',
    );
    for (const s of stamps) {
      mkdirSync(dirname(join(cache, s)), { recursive: true });
      writeFileSync(join(cache, s), '');
    }
    expect(downloads().state).toBe('ok');
    for (const [i, s] of stamps.entries()) {
      rmSync(join(cache, s));
      expect(downloads().commands.at(-1)!.at(-1)).toBe(['kafka-jars', 'helm', 'loggen'][i]);
      writeFileSync(join(cache, s), '');
    }
  });

  it('finds node_modules missing, or not matching package-lock.json, in a copy of the repository', () => {
    const root = temp('siem-bootstrap-copy-');
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, f), join(root, f));
    const script = copyBootstrap(root);
    const missing = plan(script, 'start');
    expect(missing.root).toBe(root);
    expect(step(missing, 'node_modules')).toMatchObject({
      state: 'needed',
      detail: 'node_modules is missing',
    });
    expect(step(missing, 'node_modules').commands[0]).toEqual(
      expect.arrayContaining(['npm_config_build_from_source=true', 'ci']),
    );
    expect(step(missing, 'librdkafka').state).toBe('after');

    // npm's record of what it installed, one package at another version than the lockfile's
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    lock.packages['node_modules/typescript'].version = '0.0.1';
    mkdirSync(join(root, 'node_modules'));
    writeFileSync(join(root, 'node_modules', '.package-lock.json'), JSON.stringify(lock));
    expect(step(plan(script, 'start'), 'node_modules').detail).toBe(
      'node_modules/typescript differs from package-lock.json (version)',
    );
  });
});

/** A workspace project whose `npm ci` needs no download: one workspace package with a command. */
function smallProject(): { root: string; script: string } {
  const root = temp('siem-bootstrap-small-');
  mkdirSync(join(root, 'pkgs', 'a'), { recursive: true });
  const a = { name: 'a', version: '1.0.0', bin: { 'small-a': 'cli.js' } };
  writeFileSync(join(root, 'pkgs', 'a', 'package.json'), JSON.stringify(a));
  writeFileSync(join(root, 'pkgs', 'a', 'cli.js'), '#!/usr/bin/env node\n');
  const top = { name: 'small', version: '1.0.0', private: true, workspaces: ['pkgs/*'] };
  writeFileSync(join(root, 'package.json'), JSON.stringify({ ...top, engines: { node: '>=20.19' } }));
  const { name: _, ...aLocked } = a;
  const lock = {
    name: 'small',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'small', version: '1.0.0', workspaces: ['pkgs/*'], engines: { node: '>=20.19' } },
      'node_modules/a': { resolved: 'pkgs/a', link: true },
      'pkgs/a': aLocked,
    },
  };
  writeFileSync(join(root, 'package-lock.json'), JSON.stringify(lock, null, 2));
  return { root, script: copyBootstrap(root) };
}

describe('bootstrap: what it does', () => {
  it('installs node_modules once, then has nothing to do; a changed lockfile installs again', () => {
    const { root, script } = smallProject();
    const first = bootstrap(script, ['start']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('[bootstrap] node_modules: node_modules is missing');
    expect(first.stderr).toMatch(/\$ .*npm.* ci --no-audit --no-fund/);
    expect(first.stderr).toMatch(/\[bootstrap\] node_modules: done in \d+\.\d s/);
    expect(first.stderr).toMatch(/\[bootstrap\] start: ready after 1 step\(s\) in/);
    expect(
      JSON.parse(readFileSync(join(root, 'node_modules', '.siem-bootstrap.json'), 'utf8')),
    ).toMatchObject({
      abi: process.versions.modules,
    });

    const second = bootstrap(script, ['start']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/^\[bootstrap\] start: nothing to do \(\d+\.\d s\)\n$/);

    // the workspace's command renamed: the lockfile changes, so does what npm must link
    for (const f of ['package-lock.json', join('pkgs', 'a', 'package.json')]) {
      writeFileSync(join(root, f), readFileSync(join(root, f), 'utf8').replace('small-a', 'small-b'));
    }
    expect(step(plan(script, 'start'), 'node_modules').detail).toBe(
      'pkgs/a differs from package-lock.json (bin)',
    );
    const third = bootstrap(script, ['start']);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('ready after 1 step(s)');
    expect(bootstrap(script, ['start']).stderr).toContain('nothing to do');
  });

  it('takes over a node_modules that npm installed from the same lockfile without it', () => {
    const { root, script } = smallProject();
    expect(bootstrap(script, ['start']).code).toBe(0);
    const stamp = join(root, 'node_modules', '.siem-bootstrap.json');
    rmSync(stamp);
    const r = bootstrap(script, ['start']);
    expect(r.stderr).toContain('start: nothing to do');
    expect(JSON.parse(readFileSync(stamp, 'utf8'))).toMatchObject({ abi: process.versions.modules });
  });

  it('installs again for another Node, whose native add-ons would not load', () => {
    const { root, script } = smallProject();
    expect(bootstrap(script, ['start']).code).toBe(0);
    const stamp = join(root, 'node_modules', '.siem-bootstrap.json');
    writeFileSync(stamp, JSON.stringify({ ...JSON.parse(readFileSync(stamp, 'utf8')), abi: '1' }));
    expect(step(plan(script, 'start'), 'node_modules').detail).toBe(
      `node_modules was built for Node ABI 1, this Node ${process.version} has ${process.versions.modules}`,
    );
  });

  it('stops at a failing step, naming it and its command', () => {
    const { root, script } = smallProject();
    // package.json asks for a dependency the lockfile does not have: npm ci refuses
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ ...pkg, dependencies: { 'left-pad': '1.3.0' } }),
    );
    const r = bootstrap(script, ['start']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[bootstrap\] start: step "node_modules" failed: exit code \d+\n/);
    expect(r.stderr).toMatch(/\[bootstrap\] {3}command: .*npm.* ci --no-audit --no-fund\n$/);
  });

  it('refuses an unknown profile or flag with its usage', () => {
    for (const args of [[], ['deploy'], ['start', '--yes']]) {
      const r = bootstrap(realScript, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('usage: node deploy/local/bootstrap.mjs start|test|bench [--plan] [--json]');
    }
  });
});
