/**
 * The bootstrap on this very checkout, after `npm test` ran it as its pretest step: asked again, it has
 * nothing left to do, and a real run says so within seconds. The plan is asked first, so a tree that is
 * not in place fails here with what is missing instead of installing under the running tests.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../bootstrap.mjs', import.meta.url));

function bootstrap(args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bootstrap on this checkout', () => {
  it('has nothing to do for the test profile, a second time', () => {
    const plan = bootstrap(['test', '--plan']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toBe('test: nothing to do\n');
    const run = bootstrap(['test']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^\[bootstrap\] test: nothing to do \(\d+\.\d s\)\n$/);
  });
});
