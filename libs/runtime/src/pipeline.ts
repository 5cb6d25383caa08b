import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkBufferOptions, EventBuffer, resolveBufferDir } from '@siem/buffer';
import { cloudHttp } from '@siem/cloud';
import type { Intake } from '@siem/core';
import type { Logger } from '@siem/observability';
import { createStorage, type Storage } from '@siem/storage';
import { adapterFactories, adapterInstances } from './adapter-catalog.js';
import { AdapterRegistry } from './adapter-registry.js';
import type { RootConfig } from './config-schema.js';
import type { Lifecycle } from './lifecycle.js';
import type { Pump } from './pump.js';

/** API route plugins of the intake adapters (the cloud intake answers on the API server). */
export const intakeRoutes = [cloudHttp.plugin];

/** The data folder as an absolute path (SIEM_DATA_DIR / data_dir, relative to the working directory). */
export function dataDir(config: RootConfig): string {
  return resolve(config.data_dir);
}

/** Opens the ring buffer (replaying what a previous run left on disk) and registers its close. */
export async function openBuffer(
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<EventBuffer> {
  checkBufferOptions(config.buffer);
  const buffer = new EventBuffer(
    { ...config.buffer, dir: resolveBufferDir(config.buffer, dataDir(config)) },
    { logger, name: 'main' },
  );
  await buffer.open();
  lifecycle.add('buffer', () => buffer.close());
  logger.info({ dir: buffer.dir, ...buffer.stats() }, 'buffer open');
  return buffer;
}

/**
 * Registers every configured adapter by id (nothing starts yet: `startEnabled` does).
 * The role registers `registry.stopAll()` on its lifecycle AFTER the buffer and the pump, so that at
 * shutdown the adapters stop accepting before the buffer drains and closes.
 * Each adapter offers what it receives to the intake (the buffer) that `intake()` returns when the
 * adapter starts — the registry can exist, and the control API list it, before the buffer is open (an
 * adapter created before then fails: the buffer is not open).
 */
export function createAdapterRegistry(
  config: RootConfig,
  intake: () => Intake | undefined,
  logger: Logger,
): AdapterRegistry {
  const openIntake = (): Intake => {
    const i = intake();
    if (i === undefined) throw new Error('buffer not open');
    return i;
  };
  const registry = new AdapterRegistry(
    (_name, options) => ({
      intake: openIntake(),
      tenant: typeof options.tenant === 'string' ? options.tenant : config.tenant,
      keyBy: config.kafka.producer.key_by,
      logger,
    }),
    logger,
  );
  for (const a of adapterInstances(config.adapters)) {
    const factory = adapterFactories.find((f) => f.type === a.type);
    if (factory === undefined) throw new Error(`adapter ${a.id}: unknown type ${a.type}`);
    registry.register(a.id, factory, a.options);
  }
  return registry;
}

/** Connects storage (migrating when configured) and registers its close. */
export async function openStorage(
  config: RootConfig,
  url: string,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<Storage> {
  const storage = createStorage(config.storage, { url, dataDir: dataDir(config), logger });
  lifecycle.add('storage', () => storage.close());
  await storage.start();
  return storage;
}

/**
 * Graceful hand-over at shutdown: keeps the pump delivering until the buffer holds nothing
 * undelivered or `deadlineMs` passes, then stops it (leases still in flight go back to the buffer,
 * whose close writes them to disk for the next start).
 */
export async function drainThenStop(
  buffer: EventBuffer,
  pump: Pump,
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const s = buffer.stats();
    const empty = s.memoryEvents === 0 && s.diskSegments === 0 && s.outstandingLeases === 0;
    if (empty || Date.now() >= deadline) break;
    await sleep(50);
  }
  const handedBack = await pump.stop(Math.max(1_000, deadline - Date.now()));
  const s = buffer.stats();
  logger.info(
    { handedBack, memoryEvents: s.memoryEvents, diskBytes: s.diskBytes },
    handedBack > 0 || s.memoryEvents > 0
      ? 'flush deadline reached: the rest stays in the buffer'
      : 'buffer flushed',
  );
}
