import {
  type BufferRecord,
  type ComponentState,
  type Intake,
  type LoggerLike,
  SiemError,
  type Source,
  type SourceContext,
  type SourceStatus,
} from '@siem/core';
import { type Logger, RateLimitedLog } from '@siem/observability';
import type { CloudRequestError } from './errors.js';
import type { CloudHttpIntake } from './intake.js';
import type { CloudMetrics } from './metrics.js';
import type { CloudHttpOptions } from './options.js';

/**
 * The `cloud_http` adapter: a Source whose start and stop open and close the intake route to batches
 * (the route itself lives on the API server), with the intake's counters in its status. A batch is
 * offered to the intake whole — all of its records or none — and answered 202 only once taken ('ok' or
 * 'pause'); after a 'pause' the route answers 503 with Retry-After until the intake resumes (HTTP's way
 * of not reading), and a 'rejected' batch is answered 503 with Retry-After, counted, nothing of it taken.
 */
export class CloudHttpSource implements Source {
  readonly name: string;
  readonly type = 'cloud_http';
  readonly options: CloudHttpOptions;
  readonly tenant: string;
  readonly keyBy: 'host' | 'tenant';
  readonly #hub: CloudHttpIntake;
  readonly #intake: Intake;
  readonly #logger: LoggerLike;
  readonly #log: RateLimitedLog;
  readonly #metrics: CloudMetrics;
  #state: ComponentState = 'stopped';
  #paused = false;
  #pausedAt = 0;
  #unsubscribeResume: (() => void) | null = null;
  /** The last refusal was for want of a durable intake (ack: durable on an intake without offerDurable). */
  #notDurable = false;

  constructor(hub: CloudHttpIntake, name: string, options: CloudHttpOptions, context: SourceContext) {
    this.#hub = hub;
    this.name = name;
    this.options = options;
    this.tenant = options.tenant ?? context.tenant;
    this.keyBy = context.keyBy;
    this.#intake = context.intake;
    this.#logger = context.logger.child({ adapter: name, type: this.type });
    this.#log = new RateLimitedLog(this.#logger as unknown as Logger);
    this.#metrics = hub.metrics(name);
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  get paused(): boolean {
    return this.#paused;
  }

  get rejectReason(): string {
    if (this.#notDurable) return 'not_durable';
    return this.#intake.rejectReason || 'rejected';
  }

  async start(): Promise<void> {
    if (this.#state === 'running') {
      throw new SiemError(
        'SIEM_ERR_ADAPTER_STATE',
        `${this.name} is running; it can only start when stopped`,
      );
    }
    this.#hub.attach(this);
    this.#state = 'running';
    if (!this.#hub.routeRegistered) {
      this.#logger.warn(
        {},
        'cloud_http started but its route is not (yet) on an API server: batches arrive once the API serves it',
      );
    }
    this.#logger.info({ listen: this.#hub.listenUrl() }, 'cloud intake open');
  }

  async stop(): Promise<void> {
    this.#hub.detach(this);
    if (this.#paused) {
      this.#metrics.paused(Date.now() - this.#pausedAt);
      this.#paused = false;
    }
    this.#unsubscribeResume?.();
    this.#unsubscribeResume = null;
    this.#state = 'stopped';
    this.#logger.info({}, 'cloud intake closed');
  }

  status(): SourceStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.#state,
      listen: this.#state === 'running' ? this.#hub.listenUrl() : null,
      counters: this.#metrics.snapshot(),
    };
  }

  /** @internal offers a request's records; a 'pause' closes the route to batches until resume. */
  offer(records: BufferRecord[]): 'ok' | 'pause' | 'rejected' {
    this.#notDurable = false;
    return this.#taken(this.#intake.offer(records), records.length);
  }

  /**
   * @internal `ack: durable`: resolves once the records are on disk and synced (Intake.offerDurable);
   * an intake that cannot make them durable rejects ('not_durable').
   */
  async offerDurable(records: BufferRecord[]): Promise<'ok' | 'pause' | 'rejected'> {
    const intake = this.#intake;
    this.#notDurable = intake.offerDurable === undefined;
    if (intake.offerDurable === undefined) return this.#taken('rejected', records.length);
    return this.#taken(await intake.offerDurable(records), records.length);
  }

  #taken(r: 'ok' | 'pause' | 'rejected', n: number): 'ok' | 'pause' | 'rejected' {
    if (r === 'rejected') {
      this.#log.warn(
        `rejected:${this.rejectReason}`,
        { reason: this.rejectReason, records: n },
        'buffer rejected a cloud batch: answered 503, the sender resends',
      );
    } else if (r === 'pause' && !this.#paused) {
      this.#paused = true;
      this.#pausedAt = Date.now();
      this.#logger.info({}, 'buffer asked to pause: cloud batches answered 503 until it resumes');
      this.#unsubscribeResume = this.#intake.onResume(() => {
        if (!this.#paused) return;
        this.#paused = false;
        this.#metrics.paused(Date.now() - this.#pausedAt);
        this.#unsubscribeResume?.();
        this.#unsubscribeResume = null;
        this.#logger.info({}, 'buffer resumed: cloud batches accepted again');
      });
    }
    return r;
  }

  /** @internal */
  logBadRequest(err: CloudRequestError, peer: string): void {
    this.#log.info(
      `refused:${err.reason}`,
      { peer, reason: err.reason, err: err.message },
      'cloud batch refused',
    );
  }
}
