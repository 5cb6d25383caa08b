import { stackDown, stackUp } from './stack.js';

/**
 * Integration tests run against the real stack. Services that are not running are started here and
 * stopped again afterwards; services that were already running are left as they were. A service that
 * cannot start fails the run with its reason: integration tests are never skipped silently.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const started = await stackUp();
  if (started.length > 0) process.stderr.write(`[stack] started for the tests: ${started.join(', ')}\n`);
  return async () => {
    if (started.length > 0) await stackDown(started);
  };
}
