import { type HealthStatus, isRetriable, type LoggerLike, SiemError, type Sink } from '@siem/core';
import { type ComponentMetrics, counter, gauge } from '@siem/observability';
import CircuitBreaker from 'opossum';

const STATE = { closed: 0, half_open: 1, open: 2 } as const;

const metrics = {
  state: gauge({
    name: 'siem_pipeline_circuit_state',
    help: 'Circuit breaker state per sink: 0 closed, 1 half-open, 2 open.',
    labelNames: ['sink'],
  }),
  transitions: counter({
    name: 'siem_pipeline_circuit_transitions_total',
    help: 'Circuit breaker state changes per sink.',
    labelNames: ['sink', 'to'],
  }),
  rejected: counter({
    name: 'siem_pipeline_circuit_rejected_total',
    help: 'Batches refused at once because the circuit was open.',
    labelNames: ['sink'],
  }),
};

export interface CircuitOptions {
  /** How long the circuit stays open before it lets one batch try again. */
  resetTimeoutMs: number;
  logger: LoggerLike;
}

/** A sink that can say when its service is back, so an open circuit closes without waiting. */
export interface RecoveringSink<T> extends Sink<T> {
  /** The sink's vocabulary series, passed through so the pump counts its drops there. */
  readonly component?: ComponentMetrics;
  whenReachable?(): Promise<void>;
  /** Resolves when the sink finds its service gone (before any batch has failed). */
  whenUnreachable?(): Promise<void>;
}

/**
 * An opossum circuit breaker in front of a sink. Retriable failures (service unreachable, delivery
 * timed out) open it; while open, batches are refused at once with SIEM_ERR_CIRCUIT_OPEN so the pump
 * hands them back to the buffer and the buffer spills; after `resetTimeoutMs` one batch tries again
 * (half-open), and a sink that reports its service back closes it straight away. Failures that
 * retrying cannot fix (a record the service will never take) pass through without tripping it.
 */
export class CircuitBreakerSink<T> implements Sink<T> {
  readonly name: string;
  readonly #inner: RecoveringSink<T>;
  readonly #breaker: CircuitBreaker<[T], void>;
  readonly #logger: LoggerLike;
  #closing = false;

  constructor(inner: RecoveringSink<T>, options: CircuitOptions) {
    this.name = inner.name;
    this.#inner = inner;
    this.#logger = options.logger.child({ component: 'circuit', sink: inner.name });
    this.#breaker = new CircuitBreaker((batch: T) => inner.writeBatch(batch), {
      timeout: false, // deliveries have their own deadlines; a timed-out promise would still deliver later
      resetTimeout: options.resetTimeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: 1,
      rollingCountTimeout: 10_000,
      errorFilter: (err: unknown) => !isRetriable(err),
    });
    metrics.state.set({ sink: this.name }, STATE.closed);
    this.#breaker.on('open', () => this.#transition('open'));
    this.#breaker.on('halfOpen', () => this.#transition('half_open'));
    this.#breaker.on('close', () => this.#transition('closed'));
    this.#breaker.on('reject', () => metrics.rejected.inc({ sink: this.name }));
    this.#watchUnreachable();
  }

  /**
   * Opens the circuit as soon as the sink reports its service gone. Batches already handed to the
   * sink may wait for the service much longer (librdkafka retries them until message.timeout.ms) and
   * hold every in-flight slot of the pump, so no new batch would fail to trip the circuit.
   */
  #watchUnreachable(): void {
    this.#inner.whenUnreachable?.().then(() => {
      if (this.#closing) return;
      if (!this.#breaker.opened) this.#breaker.open();
      void this.#inner.whenReachable?.().then(() => this.#watchUnreachable());
    });
  }

  get component(): ComponentMetrics | undefined {
    return this.#inner.component;
  }

  get state(): keyof typeof STATE {
    return this.#breaker.opened ? 'open' : this.#breaker.halfOpen ? 'half_open' : 'closed';
  }

  #transition(to: keyof typeof STATE): void {
    metrics.state.set({ sink: this.name }, STATE[to]);
    metrics.transitions.inc({ sink: this.name, to });
    if (to === 'open') {
      this.#logger.warn({ state: to }, 'circuit opened: batches go back to the buffer');
      this.#inner.whenReachable?.().then(() => {
        if (!this.#breaker.closed) this.#breaker.close();
      });
    } else this.#logger.info({ state: to }, `circuit ${to === 'closed' ? 'closed' : 'half-open'}`);
  }

  connect(): Promise<void> {
    return this.#inner.connect();
  }

  async writeBatch(batch: T): Promise<void> {
    try {
      await this.#breaker.fire(batch);
    } catch (err) {
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        throw new SiemError('SIEM_ERR_CIRCUIT_OPEN', `${this.name}: circuit open`, { cause: err });
      }
      throw err;
    }
  }

  async healthcheck(): Promise<HealthStatus> {
    const inner = await this.#inner.healthcheck();
    return this.#breaker.opened
      ? { ok: false, detail: `circuit open${inner.detail ? `: ${inner.detail}` : ''}` }
      : inner;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#breaker.shutdown();
    await this.#inner.close();
  }
}
