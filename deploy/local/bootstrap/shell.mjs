/**
 * Running the bootstrap's commands: their output goes to stderr as it comes (installs take minutes and
 * the person waiting should see them move), a failure names the step and the command that failed.
 * Plain Node with builtins only: this runs before node_modules exists.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A step that could not do its work: which step, the command that failed, and why. */
export class StepFailed extends Error {
  /**
   * @param {string} step
   * @param {string} command the command line as a person would type it ('' when none ran)
   * @param {string} reason
   */
  constructor(step, command, reason) {
    super(reason);
    this.step = step;
    this.command = command;
  }
}

/** @param {string[]} argv */
export function commandLine(argv) {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/** The full path of `name` on PATH, or null. */
export function which(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return null;
}

/**
 * The prefix that runs a command as root: nothing when we are root, else sudo (`sudo -n` without a
 * terminal, so a missing password fails at once instead of waiting for input that never comes).
 * @param {string} step the step that needs it, for the error
 * @returns {string[]}
 */
export function asRoot(step) {
  if (process.getuid?.() === 0) return [];
  if (which('sudo') === null) {
    throw new StepFailed(step, '', 'installing needs root: run as root, or install sudo and run as a sudoer');
  }
  return process.stdin.isTTY ? ['sudo'] : ['sudo', '-n'];
}

/**
 * Runs argv[0] with argv[1..], stdin closed, its stdout and stderr on ours (stderr). Rejects with a
 * StepFailed naming `step` and the command when it cannot start or exits non-zero.
 * @param {string} step
 * @param {string[]} argv
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [options]
 * @returns {Promise<void>}
 */
export function runStep(step, argv, options = {}) {
  const line = commandLine(argv);
  process.stderr.write(`  $ ${line}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { ...options, stdio: ['ignore', 2, 2] });
    child.once('error', (err) => reject(new StepFailed(step, line, `cannot run ${argv[0]}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new StepFailed(step, line, signal !== null ? `killed by ${signal}` : `exit code ${code}`));
    });
  });
}

/**
 * Runs a check command and returns its exit code and output (nothing printed).
 * @param {string[]} argv
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [options]
 */
export function capture(argv, options = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {
    ...options,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return {
    code: r.error !== undefined ? -1 : (r.status ?? -1),
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
  };
}
