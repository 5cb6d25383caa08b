import { join } from 'node:path';
import { type DebianPackages, debianPackagesStamp, fetchDebianPackages } from './debian-packages.js';
import { run } from './proc.js';

/**
 * syslog-ng's load generator `loggen`, for the syslog listener benchmark. Debian ships it in
 * `syslog-ng-core`, which conflicts with rsyslog (used by the differential tests), so it is not
 * installed but unpacked into the cache (`fetchDebianPackages`), and `loggen` runs from there with
 * SYSLOGNG_PREFIX and LD_LIBRARY_PATH pointing into it.
 */
export interface Loggen {
  /** The loggen executable. */
  bin: string;
  /** Environment to run it with (SYSLOGNG_PREFIX, LD_LIBRARY_PATH). */
  env: NodeJS.ProcessEnv;
}

const PACKAGE = 'syslog-ng-core';
const CACHE_NAME = 'syslog-ng';
/** Present once loggen is in the cache. */
export const loggenStamp = debianPackagesStamp(CACHE_NAME);

function loggenOf({ root, libraryPath }: DebianPackages): Loggen {
  return {
    bin: join(root, 'usr', 'bin', 'loggen'),
    env: { ...process.env, SYSLOGNG_PREFIX: join(root, 'usr'), LD_LIBRARY_PATH: libraryPath },
  };
}

/** Fetches loggen into the cache (once; later calls re-use it) and returns how to run it. */
export async function fetchLoggen(): Promise<Loggen> {
  const packages = await fetchDebianPackages(CACHE_NAME, [PACKAGE], async (unpacked) => {
    const loggen = loggenOf(unpacked);
    const check = await run(loggen.bin, ['--help'], { env: loggen.env });
    if (check.code !== 0) {
      throw new Error(`loggen from ${PACKAGE} does not run: ${(check.stderr || check.stdout).trim()}`);
    }
  });
  return loggenOf(packages);
}
