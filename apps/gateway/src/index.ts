import { setTimeout as sleep } from 'node:timers/promises';
import type { EventBuffer } from '@siem/buffer';
import { assertLibrdkafkaFeatures, ensureTopics, KafkaProducerPool, topicDefinitions } from '@siem/kafka';
import type { Logger } from '@siem/observability';
import {
  CircuitBreakerSink,
  createAdapterRegistry,
  drainThenStop,
  intakeRoutes,
  type Lifecycle,
  openBuffer,
  Pump,
  type RoleView,
  type RootConfig,
  serveApi,
} from '@siem/runtime';

/** Retries `fn` until it succeeds or the process is stopping; Kafka may come up after the gateway. */
async function untilDone(
  what: string,
  fn: () => Promise<unknown>,
  lifecycle: Lifecycle,
  logger: Logger,
): Promise<boolean> {
  let delay = 1_000;
  for (;;) {
    try {
      await fn();
      return true;
    } catch (err) {
      if (lifecycle.stopping) return false;
      logger.warn({ err, retryInMs: delay }, `${what} failed; events are buffered meanwhile`);
      await sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

/**
 * The gateway role: adapters → buffer → Kafka producer pool (behind a circuit breaker), with the
 * control API. Adapters accept events as soon as the buffer is open, even before Kafka answers; the
 * buffer spills to disk until the producers connect.
 *
 * Shutdown order (reverse of registration): adapters stop accepting → the buffer keeps delivering up to
 * shutdown.drain_ms → the buffer writes the rest to disk → the producers flush and disconnect → API.
 */
export async function startGateway(
  config: RootConfig,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<RoleView> {
  assertLibrdkafkaFeatures();
  const producer = new KafkaProducerPool({ kafka: config.kafka, logger });
  const sink = new CircuitBreakerSink(producer, {
    resetTimeoutMs: config.kafka.producer.breaker.reset_timeout_ms,
    logger,
  });
  let connected = false;
  let buffer: EventBuffer | undefined;

  // The registry exists before the buffer opens so the control API lists adapters during a long replay;
  // adapters only start (and reach the intake) once the buffer is open.
  const registry = createAdapterRegistry(config, () => buffer, logger);
  const apiReady = serveApi(config, logger, lifecycle, {
    role: 'gateway',
    adapters: registry,
    plugins: intakeRoutes,
    readiness: [
      {
        name: 'buffer',
        check: async () => {
          const s = buffer?.stats();
          return s === undefined
            ? { ok: false, detail: 'opening' }
            : { ok: s.state === 'open', detail: s.state };
        },
      },
      {
        // Ready while Kafka takes deliveries, or while the buffer can hold them (spilling by policy).
        name: 'kafka',
        check: async () => {
          const health = await sink.healthcheck();
          if (connected && health.ok) return { ok: true };
          const s = buffer?.stats();
          const spilling = s?.diskHealthy === true && !s.paused;
          return {
            ok: spilling,
            detail: `${connected ? health.detail : 'connecting'}${spilling ? '; buffering' : ''}`,
          };
        },
      },
    ],
  });
  apiReady.catch(() => undefined); // awaited below; the health endpoints answer while the buffer replays
  lifecycle.add('producer', () => sink.close());
  buffer = await openBuffer(config, logger, lifecycle);
  const pump = new Pump(buffer, sink, {
    maxBatch: config.kafka.producer.batch_max_records,
    maxInFlight: config.kafka.producer.max_in_flight_batches,
    logger,
  });
  const openedBuffer = buffer;
  lifecycle.add('pump', () => drainThenStop(openedBuffer, pump, config.shutdown.drain_ms, logger));
  // Registered last, so it runs first at shutdown: adapters stop accepting before the buffer drains and
  // closes (an event read after the close would be rejected as 'closed').
  lifecycle.add('adapters', () => registry.stopAll());
  const api = await apiReady;
  await registry.startEnabled();

  // Kafka: connect, bootstrap topics, then deliver — in the background, so intake never waits for it.
  void (async () => {
    if (!(await untilDone('connecting to Kafka', () => producer.connect(), lifecycle, logger))) return;
    if (config.kafka.create_topics) {
      const ok = await untilDone(
        'creating topics',
        async () => {
          const created = await ensureTopics(config.kafka, topicDefinitions(config.kafka.topics, false));
          if (created.length > 0) logger.info({ topics: created }, 'created topics');
        },
        lifecycle,
        logger,
      );
      if (!ok) return;
    }
    connected = true;
    if (!lifecycle.stopping) pump.start();
  })();
  return { adapters: registry, api, database: null };
}
