#!/usr/bin/env node
/**
 * `node deploy/local/bootstrap.mjs start|test|bench [--plan] [--json]`: puts in place what `npm start`,
 * `npm test` or the benchmarks need on this machine, and only what is missing; npm runs it as their
 * prestart/pretest/prebench step. Each step says what it does and how long it took; a step that fails
 * stops the run with the step's name, its command and the reason. A second run finds nothing to do.
 *
 * --plan    print what would be done, do nothing (--json: as JSON)
 *
 * Plain Node with builtins only: it runs before node_modules exists.
 * SIEM_BOOTSTRAP=off skips it (a machine managed some other way); SIEM_STACK_CACHE_DIR moves the cache;
 * SIEM_BOOTSTRAP_EXTRA_PACKAGES="a b" adds Debian packages to the ones checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine, StepFailed } from './bootstrap/shell.mjs';
import { PROFILES, STEPS } from './bootstrap/steps.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The per-user cache, found as deploy/local/src/paths.ts finds it. */
function cacheDir() {
  const own = process.env.SIEM_STACK_CACHE_DIR;
  if (own !== undefined && own !== '') return resolve(root, own);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'siem-gateway');
}

function say(line) {
  process.stderr.write(`[bootstrap] ${line}\n`);
}

function seconds(since) {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

/** The Node the project needs (package.json engines, ">=X.Y"): nothing here can install it. */
function nodeProblem() {
  const wanted = /^>=\s*(\d+)\.(\d+)/.exec(
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node ?? '',
  );
  if (wanted === null) return null;
  const [major, minor] = process.versions.node.split('.').map(Number);
  const [wMajor, wMinor] = [Number(wanted[1]), Number(wanted[2])];
  if (major > wMajor || (major === wMajor && minor >= wMinor)) return null;
  return `Node ${process.versions.node} is too old: the project needs ${wMajor}.${wMinor} or later`;
}

function usage() {
  process.stderr.write(
    `usage: node deploy/local/bootstrap.mjs ${Object.keys(PROFILES).join('|')} [--plan] [--json]\n`,
  );
  return 2;
}

/** What each step would do now; a step after one that has work to do is checked only once that is done. */
function plan(ctx) {
  const rows = [];
  const pending = new Set();
  for (const step of STEPS) {
    if (step.after?.some((s) => pending.has(s))) {
      rows.push({
        name: step.name,
        state: 'after',
        detail: `checked once ${step.after.join(', ')} is done`,
        commands: [],
      });
      pending.add(step.name);
      continue;
    }
    const need = step.check(ctx);
    if (need === null) rows.push({ name: step.name, state: 'ok', detail: '', commands: [] });
    else {
      pending.add(step.name);
      rows.push({ name: step.name, state: 'needed', detail: need.detail, commands: need.commands });
    }
  }
  return rows;
}

async function main(argv) {
  const profile = argv.find((a) => !a.startsWith('--'));
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  if (
    profile === undefined ||
    !(profile in PROFILES) ||
    [...flags].some((f) => f !== '--plan' && f !== '--json')
  ) {
    return usage();
  }
  if (process.env.SIEM_BOOTSTRAP === 'off') {
    say(`${profile}: skipped (SIEM_BOOTSTRAP=off)`);
    return 0;
  }
  const problem = nodeProblem();
  if (problem !== null) {
    say(`${profile}: ${problem}`);
    return 1;
  }
  if (!existsSync(join(root, 'package-lock.json'))) {
    say(`${profile}: no package-lock.json in ${root}`);
    return 1;
  }
  const ctx = { root, profile, cacheDir: cacheDir(), plan: flags.has('--plan') };
  if (ctx.plan) {
    const rows = plan(ctx);
    if (flags.has('--json'))
      process.stdout.write(
        `${JSON.stringify({ profile, root, cacheDir: ctx.cacheDir, steps: rows }, null, 2)}\n`,
      );
    else {
      const todo = rows.filter((r) => r.state !== 'ok');
      if (todo.length === 0) process.stdout.write(`${profile}: nothing to do\n`);
      for (const r of todo) {
        process.stdout.write(
          `${r.name}: ${r.detail}\n${r.commands.map((c) => `  $ ${commandLine(c)}\n`).join('')}`,
        );
      }
    }
    return 0;
  }
  const started = performance.now();
  let done = 0;
  for (const step of STEPS) {
    try {
      const need = step.check(ctx);
      if (need === null) continue;
      say(`${step.name}: ${need.detail}`);
      const t = performance.now();
      await need.fix();
      say(`${step.name}: done in ${seconds(t)}`);
      done++;
    } catch (err) {
      const failed =
        err instanceof StepFailed ? err : new StepFailed(step.name, '', String(err?.stack ?? err));
      say(`${profile}: step "${failed.step}" failed: ${failed.message}`);
      if (failed.command !== '') say(`  command: ${failed.command}`);
      return 1;
    }
  }
  say(
    done === 0
      ? `${profile}: nothing to do (${seconds(started)})`
      : `${profile}: ready after ${done} step(s) in ${seconds(started)}`,
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
