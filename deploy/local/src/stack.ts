import { kafkaService } from './kafka.js';
import { postgresService } from './postgres.js';
import type { ServiceStatus, StackService } from './service.js';
import { timescaleService } from './timescale.js';

export const services: readonly StackService[] = [kafkaService, postgresService, timescaleService];
export type ServiceName = 'kafka' | 'postgres' | 'timescaledb';

export function pick(names: readonly string[]): StackService[] {
  if (names.length === 0) return [...services];
  return names.map((n) => {
    const s = services.find((x) => x.name === n);
    if (s === undefined)
      throw new Error(`unknown service ${n} (known: ${services.map((x) => x.name).join(', ')})`);
    return s;
  });
}

/**
 * Brings the named services up (all when none is named), in parallel. Returns the names of those this
 * call started, so a caller can put back exactly what it changed. One failure fails the whole call,
 * naming each service that did not start and why.
 */
export async function stackUp(names: readonly string[] = []): Promise<string[]> {
  const chosen = pick(names);
  const results = await Promise.allSettled(chosen.map((s) => s.up()));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected'
      ? [`${chosen[i]!.name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`]
      : [],
  );
  const started = results.flatMap((r, i) => (r.status === 'fulfilled' && r.value ? [chosen[i]!.name] : []));
  if (failures.length > 0) {
    throw new Error(`local stack: ${failures.length} service(s) did not start:\n${failures.join('\n')}`);
  }
  return started;
}

export async function stackDown(names: readonly string[] = []): Promise<string[]> {
  const chosen = pick(names);
  const results = await Promise.all(chosen.map(async (s) => ((await s.down()) ? s.name : null)));
  return results.filter((n): n is string => n !== null);
}

export async function stackStatus(
  names: readonly string[] = [],
): Promise<Array<ServiceStatus & { name: string; address: string }>> {
  const chosen = pick(names);
  return Promise.all(chosen.map(async (s) => ({ name: s.name, address: s.address, ...(await s.status()) })));
}
